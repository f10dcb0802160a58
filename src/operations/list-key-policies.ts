import type { Handler } from './context.js'
import { pageOfList, readPageRequest } from './support/pagination.js'
import { DEFAULT_POLICY_NAME } from './support/policy-names.js'

/**
 * ListKeyPolicies: always ["default"], the one key policy of a key, in every key state,
 * through the same Limit (1–1000, default 100) and Marker handling as the other listings
 * (API Reference, ListKeyPolicies).
 */
export const listKeyPolicies: Handler<'ListKeyPolicies'> = async (ctx, input) => {
  const request = readPageRequest('ListKeyPolicies', input)
  await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const out = pageOfList('ListKeyPolicies', request, {
    items: [DEFAULT_POLICY_NAME],
    sortKey: (name) => name,
  })
  return { PolicyNames: out.items, Truncated: out.Truncated, NextMarker: out.NextMarker }
}
