import { toCustomKeyStoresListEntry } from '../domain/custom-key-store.js'
import type { Handler } from './context.js'
import { customKeyStoreNotFound, requireCustomKeyStore } from './support/custom-key-stores.js'
import { readPageRequest, toPageOutput } from './support/pagination.js'

/**
 * DescribeCustomKeyStores: the caller's custom key stores in the Region, ordered by ID and
 * paged by Limit (1–1000) and Marker; or the one store named by CustomKeyStoreId or
 * CustomKeyStoreName, CustomKeyStoreNotFoundException when there is none (API Reference,
 * DescribeCustomKeyStores). The password is never part of the answer.
 */
export const describeCustomKeyStores: Handler<'DescribeCustomKeyStores'> = async (ctx, input) => {
  const request = readPageRequest('DescribeCustomKeyStores', input)
  if (input.CustomKeyStoreId !== undefined || input.CustomKeyStoreName !== undefined) {
    const found =
      input.CustomKeyStoreId !== undefined
        ? await requireCustomKeyStore(ctx.keys, ctx.scope, input.CustomKeyStoreId)
        : await ctx.keys.findCustomKeyStoreByName(ctx.scope, input.CustomKeyStoreName!)
    // Both given: they must name the same store.
    if (
      !found ||
      (input.CustomKeyStoreName !== undefined && found.name !== input.CustomKeyStoreName)
    ) {
      throw customKeyStoreNotFound()
    }
    return { CustomKeyStores: [toCustomKeyStoresListEntry(found)], Truncated: false }
  }
  const page = await ctx.keys.listCustomKeyStores(ctx.scope, request)
  const out = toPageOutput('DescribeCustomKeyStores', page, (s) => s.customKeyStoreId)
  return {
    CustomKeyStores: out.items.map(toCustomKeyStoresListEntry),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
