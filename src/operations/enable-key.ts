import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'

/** EnableKey: Disabled → Enabled; enabling an enabled key is a no-op (API Reference, EnableKey). */
export const enableKey: Handler<'EnableKey'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'toggle')
    return current.keyState === 'Disabled' ? { ...current, keyState: 'Enabled' } : current
  })
  return {}
}
