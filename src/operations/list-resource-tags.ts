import type { Handler } from './context.js'
import { pageOfList, readPageRequest } from './support/pagination.js'

/**
 * ListResourceTags: a key's tags in every key state, ordered by tag key, paged by Limit
 * (1–50, default 50) and Marker (API Reference, ListResourceTags).
 */
export const listResourceTags: Handler<'ListResourceTags'> = async (ctx, input) => {
  const request = readPageRequest('ListResourceTags', input)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const out = pageOfList('ListResourceTags', request, {
    items: key.tags,
    sortKey: (tag) => tag.TagKey,
  })
  return {
    Tags: out.items.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
