import type {
  CloudHsmKeyStoreRecord,
  ExternalKeyStoreRecord,
  XksProxyConnectivity,
  XksProxySettings,
} from '../domain/custom-key-store.js'
import {
  CloudHsmClusterInvalidConfigurationException,
  CloudHsmClusterNotFoundException,
  CloudHsmClusterNotRelatedException,
} from '../domain/errors/exceptions.js'
import type { UpdateCustomKeyStoreInput } from '../wire/generated/model.js'
import type { Handler, OperationContext } from './context.js'
import {
  customKeyStoreInvalidState,
  nameInUse,
  requireCustomKeyStore,
  storeUsingToken,
} from './support/custom-key-stores.js'
import {
  assertConnectivity,
  assertXksSettingsFree,
  checkProxyHealth,
  CLOUD_HSM_MEMBER_NAMES,
  refuseMembers,
  XKS_MEMBER_NAMES,
} from './support/external-key-stores.js'

/**
 * A new cluster must be related to the old one (AWS: share its backup history, so it holds the
 * same keys). For PKCS#11 that means reaching the same token: another token has none of the
 * store's keys (CloudHsmClusterNotRelatedException).
 */
function checkNewCluster(ctx: OperationContext, store: CloudHsmKeyStoreRecord, clusterId: string) {
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

/**
 * UpdateCustomKeyStore (API Reference): changes a CloudHSM key store or an external key store,
 * each by its own rules, and returns nothing.
 */
export const updateCustomKeyStore: Handler<'UpdateCustomKeyStore'> = async (ctx, input) => {
  const store = await requireCustomKeyStore(ctx.keys, ctx.scope, input.CustomKeyStoreId)
  if (store.customKeyStoreType === 'EXTERNAL_KEY_STORE') await updateExternal(ctx, input, store)
  else await updateCloudHsm(ctx, input)
  return {}
}

/**
 * An AWS_CLOUDHSM store: a new name at any time; a new password or cluster only while
 * DISCONNECTED (API Reference, UpdateCustomKeyStore: "To update the KeyStorePassword or
 * CloudHsmClusterId of an AWS CloudHSM key store, the custom key store must be
 * disconnected"). The new password is checked only at the next connection, as AWS.
 */
async function updateCloudHsm(ctx: OperationContext, input: UpdateCustomKeyStoreInput) {
  refuseMembers(input, XKS_MEMBER_NAMES, 'EXTERNAL_KEY_STORE')
  const wrappedPassword =
    input.KeyStorePassword === undefined
      ? undefined
      : await ctx.customKeyStores.wrapPassword(
          { region: ctx.scope.region, customKeyStoreId: input.CustomKeyStoreId },
          input.KeyStorePassword,
        )
  await ctx.customKeyStores.write(async (tx) => {
    const store = await requireCustomKeyStore(tx, ctx.scope, input.CustomKeyStoreId)
    if (store.customKeyStoreType !== 'AWS_CLOUDHSM') return
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
}

/**
 * The settings of an external key store after the update: the request's values over the
 * stored ones. Switching to PUBLIC_ENDPOINT drops the VPC endpoint service.
 */
function nextXksSettings(
  input: UpdateCustomKeyStoreInput,
  current: XksProxySettings,
): Omit<XksProxySettings, 'wrappedSecret'> {
  const connectivity = (input.XksProxyConnectivity ?? current.connectivity) as XksProxyConnectivity
  const vpc = connectivity === 'VPC_ENDPOINT_SERVICE'
  const serviceName =
    input.XksProxyVpcEndpointServiceName ?? (vpc ? current.vpcEndpointServiceName : undefined)
  const serviceOwner =
    input.XksProxyVpcEndpointServiceOwner ?? (vpc ? current.vpcEndpointServiceOwner : undefined)
  return {
    connectivity,
    uriEndpoint: input.XksProxyUriEndpoint ?? current.uriEndpoint,
    uriPath: input.XksProxyUriPath ?? current.uriPath,
    accessKeyId: input.XksProxyAuthenticationCredential?.AccessKeyId ?? current.accessKeyId,
    ...(serviceName !== undefined ? { vpcEndpointServiceName: serviceName } : {}),
    ...(serviceOwner !== undefined ? { vpcEndpointServiceOwner: serviceOwner } : {}),
  }
}

/**
 * An EXTERNAL_KEY_STORE store. The name, the URI path and the credential may change while
 * connected; the endpoint, the connectivity and the VPC endpoint service only while
 * DISCONNECTED (API Reference, UpdateCustomKeyStore, each member: "To change this value, the
 * external key store must be disconnected"). New connection settings are checked with a
 * GetHealthStatus call first when the store is connected or uses a public endpoint
 * (Developer Guide, "Edit external key store properties": "Before updating … AWS KMS sends a
 * GetHealthStatus request … using the new values").
 */
async function updateExternal(
  ctx: OperationContext,
  input: UpdateCustomKeyStoreInput,
  store: ExternalKeyStoreRecord,
) {
  refuseMembers(input, CLOUD_HSM_MEMBER_NAMES, 'AWS_CLOUDHSM')
  const next = nextXksSettings(input, store.xksProxy)
  assertConnectivity(next)
  const current = store.xksProxy
  const needsDisconnect =
    next.uriEndpoint !== current.uriEndpoint ||
    next.connectivity !== current.connectivity ||
    next.vpcEndpointServiceName !== current.vpcEndpointServiceName ||
    next.vpcEndpointServiceOwner !== current.vpcEndpointServiceOwner
  if (needsDisconnect && store.connectionState !== 'DISCONNECTED') {
    throw customKeyStoreInvalidState(
      store,
      'Disconnect it (DisconnectCustomKeyStore) before changing its endpoint, connectivity or VPC endpoint service.',
    )
  }
  const credential = input.XksProxyAuthenticationCredential
  const changesConnection =
    needsDisconnect || next.uriPath !== current.uriPath || credential !== undefined
  if (changesConnection)
    await assertXksSettingsFree(ctx.keys, ctx.scope, {
      candidate: next,
      except: store.customKeyStoreId,
    })
  if (
    changesConnection &&
    (store.connectionState === 'CONNECTED' || next.connectivity === 'PUBLIC_ENDPOINT')
  ) {
    await checkProxyHealth(
      ctx,
      {
        uriEndpoint: next.uriEndpoint,
        uriPath: next.uriPath,
        accessKeyId: next.accessKeyId,
        secretAccessKey:
          credential?.RawSecretAccessKey ?? (await ctx.customKeyStores.xksSecret(store)),
        region: store.region,
      },
      'UpdateCustomKeyStore',
    )
  }
  const wrappedSecret =
    credential === undefined
      ? current.wrappedSecret
      : await ctx.customKeyStores.wrapXksSecret(store, credential.RawSecretAccessKey)
  await ctx.customKeyStores.write(async (tx) => {
    const latest = await requireCustomKeyStore(tx, ctx.scope, store.customKeyStoreId)
    // Connected, or changed by another update, meanwhile: the checks above no longer hold.
    if (
      latest.customKeyStoreType !== 'EXTERNAL_KEY_STORE' ||
      latest.connectionState !== store.connectionState ||
      JSON.stringify(latest.xksProxy) !== JSON.stringify(store.xksProxy)
    ) {
      throw customKeyStoreInvalidState(latest, 'It changed during the update; try again.')
    }
    const name = input.NewCustomKeyStoreName
    if (name !== undefined && name !== latest.name) {
      if (await tx.findCustomKeyStoreByName(ctx.scope, name)) throw nameInUse()
    }
    if (changesConnection) {
      await assertXksSettingsFree(tx, ctx.scope, {
        candidate: next,
        except: store.customKeyStoreId,
      })
    }
    await tx.updateCustomKeyStore({
      ...latest,
      ...(name !== undefined ? { name } : {}),
      xksProxy: { ...next, wrappedSecret },
    })
  })
}
