import type { CustomKeyStoreRecord } from '../../domain/custom-key-store.js'
import type { Scope } from '../../domain/identifiers.js'
import { KEY_ORIGINS, type Origin } from '../../domain/key-origins.js'
import type { KeyStoreTransaction } from '../../ports/key-store.js'
import type { OperationContext } from '../context.js'
import {
  CustomKeyStoreInvalidStateException,
  CustomKeyStoreNameInUseException,
  CustomKeyStoreNotFoundException,
  UnsupportedOperationException,
} from '../../domain/errors/exceptions.js'

/*
 * No exchange with real AWS about custom key stores is recorded (aws-recorded-errors.md), so
 * the messages below are the API Reference's own descriptions of each exception.
 */

/**
 * CustomKeyStoreNotFoundException, as the API Reference describes it.
 *
 * @example
 *   if (!found) throw customKeyStoreNotFound()
 */
export const customKeyStoreNotFound = () =>
  new CustomKeyStoreNotFoundException(
    'The request was rejected because AWS KMS cannot find a custom key store with the specified key store name or ID.',
  )

/**
 * CustomKeyStoreInvalidStateException naming the state that blocks the operation.
 *
 * @example
 *   throw customKeyStoreInvalidState(store, 'Wait until it is DISCONNECTED.')
 */
export const customKeyStoreInvalidState = (store: CustomKeyStoreRecord, why: string) =>
  new CustomKeyStoreInvalidStateException(
    `Custom key store ${store.customKeyStoreId} has ConnectionState ${store.connectionState}. ${why}`,
  )

/**
 * The caller's store with this ID, in the request's account and Region; a store of another
 * account is as absent as one that does not exist.
 *
 * @throws CustomKeyStoreNotFoundException
 * @example
 *   const store = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
 */
export async function requireCustomKeyStore(
  tx: Pick<KeyStoreTransaction, 'getCustomKeyStore'>,
  scope: Scope,
  customKeyStoreId: string,
): Promise<CustomKeyStoreRecord> {
  const store = await tx.getCustomKeyStore(scope.region, customKeyStoreId)
  if (!store || store.accountId !== scope.accountId) throw customKeyStoreNotFound()
  return store
}

/**
 * CustomKeyStoreNameInUseException, as the API Reference describes it.
 *
 * @example
 *   if (await tx.findCustomKeyStoreByName(ctx.scope, name)) throw nameInUse()
 */
export const nameInUse = () =>
  new CustomKeyStoreNameInUseException(
    'The request was rejected because the specified custom key store name is already assigned to another custom key store in the account. Try again with a custom key store name that is unique in the account.',
  )

/**
 * A key's Origin must match its store's type: AWS_CLOUDHSM keys live in CloudHSM key stores,
 * EXTERNAL_KEY_STORE keys in external key stores (API Reference, CreateKey, Origin). AWS
 * answers a mismatch with UnsupportedOperationException.
 *
 * @example
 *   if (store.customKeyStoreType !== KEY_ORIGINS[origin].customKeyStoreType) throw wrongStoreType(store, origin)
 */
export const wrongStoreType = (store: CustomKeyStoreRecord, origin: Origin) =>
  new UnsupportedOperationException(
    `Custom key store ${store.customKeyStoreId} is of type ${store.customKeyStoreType}; keys with Origin ${origin} need a custom key store of type ${KEY_ORIGINS[origin].customKeyStoreType}.`,
  )

/**
 * The store other than `except` that already uses this cluster's token, through this cluster
 * id or another one declared for the same token (AWS: "already associated with an AWS CloudHSM
 * key store in the account, or it shares a backup history with" one).
 *
 * @example
 *   if (await storeUsingToken(ctx, tx, { clusterId })) throw new CloudHsmClusterInUseException('…')
 */
export async function storeUsingToken(
  ctx: OperationContext,
  tx: Pick<KeyStoreTransaction, 'findCustomKeyStoreByCluster'>,
  options: { clusterId: string; except?: string },
): Promise<CustomKeyStoreRecord | undefined> {
  const target = ctx.customKeyStores.cluster(options.clusterId)
  if (!target) return undefined
  for (const cluster of ctx.customKeyStores.clusters()) {
    if (!ctx.customKeyStores.sameToken(cluster, target)) continue
    const user = await tx.findCustomKeyStoreByCluster(cluster.id)
    if (user && user.customKeyStoreId !== options.except) return user
  }
  return undefined
}
