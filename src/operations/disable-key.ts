import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'

/** DisableKey: Enabled → Disabled; the key can no longer be used (API Reference, DisableKey). */
export const disableKey: Handler<'DisableKey'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  await ctx.keys.mutate(key, (current) => {
    assertKeyState(current, 'toggle')
    return current.keyState === 'Enabled' ? { ...current, keyState: 'Disabled' } : current
  })
  return {}
}
