import type { CustomKeyStoreRecord } from '../domain/custom-key-store.js'
import { withoutErrorCode } from '../services/custom-key-stores.js'
import type { Handler } from './context.js'
import { customKeyStoreInvalidState, requireCustomKeyStore } from './support/custom-key-stores.js'

/**
 * ConnectCustomKeyStore: asynchronous, as AWS's (API Reference: "The connection process can
 * take an extended amount of time to complete. This operation starts the connection process,
 * but it does not wait for it to complete"). The store turns CONNECTING at once, and then
 * CONNECTED once Keyward has loaded the module, found the token, logged in with the store's
 * password and drawn random bytes from it, or FAILED with a ConnectionErrorCode.
 *
 * A store that is already CONNECTED or CONNECTING is left as it is. A FAILED store must be
 * disconnected first, and a DISCONNECTING one cannot connect (API Reference,
 * CustomKeyStoreInvalidStateException: "You requested the ConnectCustomKeyStore operation on a
 * custom key store with a ConnectionState of DISCONNECTING or FAILED").
 */
export const connectCustomKeyStore: Handler<'ConnectCustomKeyStore'> = async (ctx, input) => {
  const connecting = await ctx.customKeyStores.write(async (tx) => {
    const store = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
    switch (store.connectionState) {
      case 'CONNECTED':
      case 'CONNECTING':
        return undefined
      case 'FAILED':
        throw customKeyStoreInvalidState(
          store,
          'Disconnect it (DisconnectCustomKeyStore), correct the cause, then connect it again.',
        )
      case 'DISCONNECTING':
        throw customKeyStoreInvalidState(store, 'Wait until it is DISCONNECTED.')
      case 'DISCONNECTED': {
        const next: CustomKeyStoreRecord = {
          ...withoutErrorCode(store),
          connectionState: 'CONNECTING',
        }
        await tx.updateCustomKeyStore(next)
        return next
      }
    }
  })
  if (connecting) ctx.customKeyStores.startConnecting(connecting)
  return {}
}
