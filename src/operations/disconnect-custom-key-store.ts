import { withoutErrorCode } from '../services/custom-key-stores.js'
import type { Handler } from './context.js'
import { requireCustomKeyStore } from './support/custom-key-stores.js'

/**
 * DisconnectCustomKeyStore: the store becomes DISCONNECTED (its keys Unavailable) and Keyward
 * closes its sessions on the token. It also clears a FAILED state, which is how AWS has a
 * failed store retried (API Reference, ConnectCustomKeyStore: "To reconnect a custom key store
 * in a FAILED state, disconnect it first"). Disconnecting a store that is already
 * disconnected succeeds and changes nothing.
 */
export const disconnectCustomKeyStore: Handler<'DisconnectCustomKeyStore'> = async (ctx, input) => {
  const store = await ctx.customKeyStores.write(async (tx) => {
    const current = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
    if (current.connectionState !== 'DISCONNECTED') {
      await tx.updateCustomKeyStore({
        ...withoutErrorCode(current),
        connectionState: 'DISCONNECTED',
      })
    }
    return current
  })
  await ctx.customKeyStores.disconnect(store)
  return {}
}
