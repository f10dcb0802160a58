import { withoutErrorCode } from '../services/custom-key-stores.js'
import type { Handler } from './context.js'
import { customKeyStoreInvalidState, requireCustomKeyStore } from './support/custom-key-stores.js'

/**
 * DisconnectCustomKeyStore: the store becomes DISCONNECTED (its keys Unavailable) and Keyward
 * closes its sessions on the token. It also clears a FAILED state, which is how AWS has a
 * failed store retried (API Reference, ConnectCustomKeyStore: "To reconnect a custom key store
 * in a FAILED state, disconnect it first"). A store that is already DISCONNECTED, or
 * DISCONNECTING, is refused for both store types (API Reference,
 * CustomKeyStoreInvalidStateException: "You requested the DisconnectCustomKeyStore operation on
 * a custom key store with a ConnectionState of DISCONNECTING or DISCONNECTED").
 */
export const disconnectCustomKeyStore: Handler<'DisconnectCustomKeyStore'> = async (ctx, input) => {
  const store = await ctx.customKeyStores.write(async (tx) => {
    const current = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
    if (current.connectionState === 'DISCONNECTED' || current.connectionState === 'DISCONNECTING') {
      throw customKeyStoreInvalidState(current, 'It is already disconnected or disconnecting.')
    }
    await tx.updateCustomKeyStore({ ...withoutErrorCode(current), connectionState: 'DISCONNECTED' })
    return current
  })
  await ctx.customKeyStores.disconnect(store)
  return {}
}
