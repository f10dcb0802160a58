import { CustomKeyStoreHasCMKsException } from '../domain/errors/exceptions.js'
import type { Handler } from './context.js'
import { customKeyStoreInvalidState, requireCustomKeyStore } from './support/custom-key-stores.js'

/**
 * DeleteCustomKeyStore: only a DISCONNECTED store that holds no KMS keys, whatever their state
 * (API Reference, DeleteCustomKeyStore: "The custom key store that you delete cannot contain
 * any KMS keys … you must disconnect the custom key store"). The HSM and its token are not
 * touched: the store was only Keyward's record of them.
 */
export const deleteCustomKeyStore: Handler<'DeleteCustomKeyStore'> = async (ctx, input) => {
  await ctx.customKeyStores.write(async (tx) => {
    const store = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
    if (store.connectionState !== 'DISCONNECTED') {
      throw customKeyStoreInvalidState(
        store,
        'Disconnect it (DisconnectCustomKeyStore) before deleting it.',
      )
    }
    if ((await tx.countKeysInCustomKeyStore(store.region, store.customKeyStoreId)) > 0) {
      throw new CustomKeyStoreHasCMKsException(
        'The request was rejected because the custom key store contains AWS KMS keys. After verifying that you do not need to use the KMS keys, use the ScheduleKeyDeletion operation to delete the KMS keys. After they are deleted, you can delete the custom key store.',
      )
    }
    await tx.deleteCustomKeyStore(store.region, store.customKeyStoreId)
  })
  return {}
}
