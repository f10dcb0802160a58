import type { Handler } from './context.js'
import { readPageRequest, toPageOutput } from './support/pagination.js'

/**
 * ListKeys: the caller's keys in the request's Region, every key state included, as
 * {KeyId, KeyArn}, ordered by key ID and paged by Limit (1–1000, default 100) and Marker
 * (API Reference, ListKeys).
 */
export const listKeys: Handler<'ListKeys'> = async (ctx, input) => {
  const page = await ctx.keys.listKeys(ctx.scope, readPageRequest('ListKeys', input))
  const out = toPageOutput('ListKeys', page, (key) => key.keyId)
  return {
    Keys: out.items.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
