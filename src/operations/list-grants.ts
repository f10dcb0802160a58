import { ValidationException } from '../domain/errors/exceptions.js'
import type { Handler } from './context.js'
import { grantListEntry, readGrantId, refuseAlias } from './support/grants.js'
import { readPageRequest, toPageOutput } from './support/pagination.js'

/**
 * ListGrants (API Reference, ListGrants; kms-authz.md §6.2): the grants of one key (key ID or
 * key ARN, any key state), ordered by grant ID, optionally only the one with GrantId or those
 * of one GranteePrincipal, paged by Limit (1–100, default 50) and Marker. A malformed GrantId
 * is InvalidGrantIdException; a well-formed one that names no grant of the key lists nothing.
 * Keyward holds no grants to service principals, so a GranteeServicePrincipal filter lists
 * nothing.
 */
export const listGrants: Handler<'ListGrants'> = async (ctx, input) => {
  const request = readPageRequest('ListGrants', input)
  if (input.GranteePrincipal !== undefined && input.GranteeServicePrincipal !== undefined) {
    throw new ValidationException(
      'GranteePrincipal and GranteeServicePrincipal cannot be specified together.',
    )
  }
  const grantId = input.GrantId === undefined ? undefined : readGrantId(input.GrantId)
  refuseAlias(input.KeyId)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  if (input.GranteeServicePrincipal !== undefined) return { Grants: [], Truncated: false }
  const page = await ctx.keys.listGrants(key, {
    ...request,
    ...(grantId !== undefined ? { grantId } : {}),
    ...(input.GranteePrincipal !== undefined ? { granteePrincipal: input.GranteePrincipal } : {}),
  })
  const out = toPageOutput('ListGrants', page, (grant) => grant.grantId)
  return {
    Grants: out.items.map(grantListEntry),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
