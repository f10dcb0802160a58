import type { CustomKeyStoreRecord } from '../domain/custom-key-store.js'
import {
  CloudHsmClusterInvalidConfigurationException,
  CloudHsmClusterNotFoundException,
  CloudHsmClusterNotRelatedException,
  ValidationException,
} from '../wire/generated/exceptions.js'
import type { UpdateCustomKeyStoreInput } from '../wire/generated/model.js'
import type { Handler, OperationContext } from './context.js'
import {
  customKeyStoreInvalidState,
  nameInUse,
  requireCustomKeyStore,
  storeUsingToken,
} from './support/custom-key-stores.js'

const XKS_MEMBERS = [
  'XksProxyUriEndpoint',
  'XksProxyUriPath',
  'XksProxyVpcEndpointServiceName',
  'XksProxyVpcEndpointServiceOwner',
  'XksProxyAuthenticationCredential',
  'XksProxyConnectivity',
] as const

/**
 * A new cluster must be related to the old one (AWS: share its backup history, so it holds the
 * same keys). For PKCS#11 that means reaching the same token: another token has none of the
 * store's keys (CloudHsmClusterNotRelatedException).
 */
function checkNewCluster(ctx: OperationContext, store: CustomKeyStoreRecord, clusterId: string) {
  const next = ctx.customKeyStores.cluster(clusterId)
  if (!next) {
    throw new CloudHsmClusterNotFoundException(
      'The request was rejected because AWS KMS cannot find the AWS CloudHSM cluster with the specified cluster ID. Retry the request with a different cluster ID.',
    )
  }
  const current = ctx.customKeyStores.cluster(store.cloudHsmClusterId)
  if (!current || !ctx.customKeyStores.sameToken(current, next)) {
    throw new CloudHsmClusterNotRelatedException(
      'The request was rejected because the specified AWS CloudHSM cluster has a different cluster certificate than the original cluster. You cannot use the operation to specify an unrelated cluster for an AWS CloudHSM key store.',
    )
  }
}

function refuseXksMembers(input: UpdateCustomKeyStoreInput): void {
  const given = XKS_MEMBERS.find((m) => input[m] !== undefined)
  if (given) {
    throw new ValidationException(
      `${given} can be specified only for a custom key store of type EXTERNAL_KEY_STORE.`,
    )
  }
}

/**
 * UpdateCustomKeyStore for an AWS_CLOUDHSM store: a new name at any time; a new password or
 * cluster only while DISCONNECTED (API Reference, UpdateCustomKeyStore: "To update the
 * KeyStorePassword or CloudHsmClusterId of an AWS CloudHSM key store, the custom key store
 * must be disconnected"). The new password is checked only at the next connection, as AWS.
 */
export const updateCustomKeyStore: Handler<'UpdateCustomKeyStore'> = async (ctx, input) => {
  refuseXksMembers(input)
  const wrappedPassword =
    input.KeyStorePassword === undefined
      ? undefined
      : await ctx.customKeyStores.wrapPassword(
          { region: ctx.scope.region, customKeyStoreId: input.CustomKeyStoreId },
          input.KeyStorePassword,
        )
  await ctx.customKeyStores.write(async (tx) => {
    const store = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
    const changesConnection = wrappedPassword !== undefined || input.CloudHsmClusterId !== undefined
    if (changesConnection && store.connectionState !== 'DISCONNECTED') {
      throw customKeyStoreInvalidState(
        store,
        'Disconnect it (DisconnectCustomKeyStore) before changing its password or cluster.',
      )
    }
    const clusterId = input.CloudHsmClusterId
    if (clusterId !== undefined && clusterId !== store.cloudHsmClusterId) {
      checkNewCluster(ctx, store, clusterId)
      // UpdateCustomKeyStore does not model CloudHsmClusterInUseException; a cluster that
      // another store already uses is, for this store, a configuration it cannot take.
      const user = await storeUsingToken(ctx, tx, { clusterId, except: store.customKeyStoreId })
      if (user) {
        throw new CloudHsmClusterInvalidConfigurationException(
          `Cluster ${clusterId} is already associated with another custom key store.`,
        )
      }
    }
    const name = input.NewCustomKeyStoreName
    if (name !== undefined && name !== store.name) {
      if (await tx.findCustomKeyStoreByName(ctx.scope, name)) throw nameInUse()
    }
    await tx.updateCustomKeyStore({
      ...store,
      ...(name !== undefined ? { name } : {}),
      ...(clusterId !== undefined ? { cloudHsmClusterId: clusterId } : {}),
      ...(wrappedPassword !== undefined ? { wrappedPassword } : {}),
    })
  })
  return {}
}
