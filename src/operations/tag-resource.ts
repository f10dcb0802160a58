import { assertKeyState } from '../domain/key-state.js'
import { mergeTags } from '../domain/tags.js'
import type { Handler } from './context.js'

/**
 * TagResource: adds tags to a key, replacing the value of a tag key it already has; at most
 * 50 tags, no `aws:` keys, no duplicate keys in one request (API Reference, TagResource;
 * src/domain/tags.ts has the messages). Refused while the key is pending deletion.
 */
export const tagResource: Handler<'TagResource'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'manage')
    return { ...current, tags: mergeTags(current.tags, input.Tags) }
  })
  return {}
}
