import { reservedTagPrefix } from '../domain/errors/messages.js'
import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'

/**
 * UntagResource: removes the named tag keys; keys the key does not have are ignored (API
 * Reference, UntagResource). An `aws:` key can never be on a customer key, so naming one is
 * refused with the same TagException TagResource sends. Refused while pending deletion.
 */
export const untagResource: Handler<'UntagResource'> = async (ctx, input) => {
  if (input.TagKeys.some((k) => k.toLowerCase().startsWith('aws:'))) {
    throw reservedTagPrefix()
  }
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const removed = new Set(input.TagKeys)
  await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'manage')
    const tags = current.tags.filter((t) => !removed.has(t.TagKey))
    return tags.length === current.tags.length ? current : { ...current, tags }
  })
  return {}
}
