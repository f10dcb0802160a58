import { existsSync } from 'node:fs'
import {
  newCustomKeyStoreId,
  type CustomKeyStoreRecord,
  type ExternalKeyStoreRecord,
  type XksProxyConnectivity,
} from '../domain/custom-key-store.js'
import type { KeyStoreTransaction } from '../ports/key-store.js'
import {
  CloudHsmClusterInUseException,
  CloudHsmClusterNotActiveException,
  CloudHsmClusterNotFoundException,
  IncorrectTrustAnchorException,
  LimitExceededException,
  ValidationException,
} from '../domain/errors/exceptions.js'
import type { CreateCustomKeyStoreInput } from '../wire/generated/model.js'
import type { Handler, OperationContext } from './context.js'
import { nameInUse, storeUsingToken } from './support/custom-key-stores.js'
import {
  assertConnectivity,
  assertXksSettingsFree,
  checkProxyHealth,
  CLOUD_HSM_MEMBER_NAMES,
  refuseMembers,
  XKS_MEMBER_NAMES,
} from './support/external-key-stores.js'

/** The members an AWS_CLOUDHSM store needs (API Reference, CreateCustomKeyStore). */
function cloudHsmMembers(input: CreateCustomKeyStoreInput) {
  const { CloudHsmClusterId, TrustAnchorCertificate, KeyStorePassword } = input
  const missing = [
    ['CloudHsmClusterId', CloudHsmClusterId],
    ['TrustAnchorCertificate', TrustAnchorCertificate],
    ['KeyStorePassword', KeyStorePassword],
  ].find(([, value]) => value === undefined)
  if (missing) {
    throw new ValidationException(
      `${missing[0]} is required for a custom key store of type AWS_CLOUDHSM.`,
    )
  }
  return {
    clusterId: CloudHsmClusterId!,
    trustAnchor: TrustAnchorCertificate!,
    password: KeyStorePassword!,
  }
}

/**
 * The configured HSM connection behind a CloudHsmClusterId: it must be declared
 * (CloudHsmClusterNotFoundException), its module present (CloudHsmClusterNotActiveException,
 * the nearest AWS meaning: no active HSM), and the trust anchor must be the declared one, when
 * one is declared (IncorrectTrustAnchorException).
 */
function checkCluster(ctx: OperationContext, clusterId: string, trustAnchor: string): void {
  const cluster = ctx.customKeyStores.cluster(clusterId)
  if (!cluster) {
    throw new CloudHsmClusterNotFoundException(
      'The request was rejected because AWS KMS cannot find the AWS CloudHSM cluster with the specified cluster ID. Retry the request with a different cluster ID.',
    )
  }
  if (!existsSync(cluster.modulePath)) {
    throw new CloudHsmClusterNotActiveException(
      'The request was rejected because the AWS CloudHSM cluster associated with the AWS CloudHSM key store is not active. Initialize and activate the cluster and try the command again.',
    )
  }
  if (
    cluster.trustAnchorCertificate !== undefined &&
    cluster.trustAnchorCertificate.trim() !== trustAnchor.trim()
  ) {
    throw new IncorrectTrustAnchorException(
      'The request was rejected because the trust anchor certificate in the request to create an AWS CloudHSM key store is not the trust anchor certificate for the specified AWS CloudHSM cluster.',
    )
  }
}

/**
 * CreateCustomKeyStore (API Reference): a store of type AWS_CLOUDHSM (the default) over one of
 * the HSM connections declared in the configuration, or of type EXTERNAL_KEY_STORE in front of
 * an XKS proxy. Either is created DISCONNECTED ("the new custom key store is not connected").
 */
export const createCustomKeyStore: Handler<'CreateCustomKeyStore'> = async (ctx, input) => {
  const customKeyStoreId = newCustomKeyStoreId(ctx.random)
  const record =
    input.CustomKeyStoreType === 'EXTERNAL_KEY_STORE'
      ? await externalKeyStore(ctx, input, customKeyStoreId)
      : await cloudHsmKeyStore(ctx, input, customKeyStoreId)
  await ctx.customKeyStores.write(async (tx) => {
    await assertStoreAllowed(ctx, tx, record)
    await tx.insertCustomKeyStore(record)
  })
  return { CustomKeyStoreId: customKeyStoreId }
}

/**
 * The checks against the account's other stores, made again inside the inserting transaction:
 * the name, the cluster or the proxy address must be free, and the account under its quota.
 */
async function assertStoreAllowed(
  ctx: OperationContext,
  tx: KeyStoreTransaction,
  record: CustomKeyStoreRecord,
): Promise<void> {
  if (await tx.findCustomKeyStoreByName(ctx.scope, record.name)) throw nameInUse()
  if (record.customKeyStoreType === 'EXTERNAL_KEY_STORE') {
    await assertXksSettingsFree(tx, ctx.scope, { candidate: record.xksProxy })
  } else if (await storeUsingToken(ctx, tx, { clusterId: record.cloudHsmClusterId })) {
    throw new CloudHsmClusterInUseException(
      'The request was rejected because the specified AWS CloudHSM cluster is already associated with an AWS CloudHSM key store in the account, or it shares a backup history with an AWS CloudHSM key store in the account. Each AWS CloudHSM key store in the account must be associated with a different AWS CloudHSM cluster.',
    )
  }
  // The custom key stores quota (10 by default, configurable like AWS's).
  const limit = ctx.keys.quotas.customKeyStores
  if ((await tx.countCustomKeyStores(ctx.scope)) >= limit) {
    throw new LimitExceededException(
      `The number of custom key stores in this account and Region would exceed the limit of ${limit}.`,
    )
  }
}

/** What a new store of either type starts with: DISCONNECTED, in the caller's account. */
function newStoreBase(
  ctx: OperationContext,
  input: CreateCustomKeyStoreInput,
  customKeyStoreId: string,
) {
  return {
    schemaVersion: 1,
    customKeyStoreId,
    accountId: ctx.scope.accountId,
    region: ctx.scope.region,
    name: input.CustomKeyStoreName,
    creationDate: ctx.clock.now(),
    connectionState: 'DISCONNECTED',
  } as const
}

/**
 * An AWS_CLOUDHSM store's record. The KeyStorePassword is the token's user PIN; it is checked
 * only by ConnectCustomKeyStore, as AWS does, and kept wrapped under the root key.
 */
async function cloudHsmKeyStore(
  ctx: OperationContext,
  input: CreateCustomKeyStoreInput,
  customKeyStoreId: string,
): Promise<CustomKeyStoreRecord> {
  refuseMembers(input, XKS_MEMBER_NAMES, 'EXTERNAL_KEY_STORE')
  const { clusterId, trustAnchor, password } = cloudHsmMembers(input)
  checkCluster(ctx, clusterId, trustAnchor)
  const identity = { region: ctx.scope.region, customKeyStoreId }
  return {
    ...newStoreBase(ctx, input, customKeyStoreId),
    customKeyStoreType: 'AWS_CLOUDHSM',
    cloudHsmClusterId: clusterId,
    trustAnchorCertificate: trustAnchor,
    wrappedPassword: await ctx.customKeyStores.wrapPassword(identity, password),
  }
}

/**
 * An EXTERNAL_KEY_STORE store's record. With PUBLIC_ENDPOINT connectivity the proxy must
 * answer GetHealthStatus now (Developer Guide, "Creating an external key store": AWS KMS
 * "sends a GetHealthStatus request … to verify" the endpoint and credentials); with
 * VPC_ENDPOINT_SERVICE that waits for ConnectCustomKeyStore, as AWS does. The secret is kept
 * wrapped under the root key.
 */
async function externalKeyStore(
  ctx: OperationContext,
  input: CreateCustomKeyStoreInput,
  customKeyStoreId: string,
): Promise<ExternalKeyStoreRecord> {
  refuseMembers(input, CLOUD_HSM_MEMBER_NAMES, 'AWS_CLOUDHSM')
  const missing = [
    'XksProxyUriEndpoint',
    'XksProxyUriPath',
    'XksProxyAuthenticationCredential',
    'XksProxyConnectivity',
  ].find((m) => input[m as keyof CreateCustomKeyStoreInput] === undefined)
  if (missing) {
    throw new ValidationException(
      `${missing} is required for a custom key store of type EXTERNAL_KEY_STORE.`,
    )
  }
  const credential = input.XksProxyAuthenticationCredential!
  const settings = {
    connectivity: input.XksProxyConnectivity as XksProxyConnectivity,
    uriEndpoint: input.XksProxyUriEndpoint!,
    uriPath: input.XksProxyUriPath!,
    ...(input.XksProxyVpcEndpointServiceName !== undefined
      ? { vpcEndpointServiceName: input.XksProxyVpcEndpointServiceName }
      : {}),
    ...(input.XksProxyVpcEndpointServiceOwner !== undefined
      ? { vpcEndpointServiceOwner: input.XksProxyVpcEndpointServiceOwner }
      : {}),
  }
  assertConnectivity(settings)
  // Cheap refusals first: no proxy call for a request that cannot succeed anyway.
  if (await ctx.keys.findCustomKeyStoreByName(ctx.scope, input.CustomKeyStoreName)) {
    throw nameInUse()
  }
  await assertXksSettingsFree(ctx.keys, ctx.scope, { candidate: settings })
  if (settings.connectivity === 'PUBLIC_ENDPOINT') {
    await checkProxyHealth(
      ctx,
      {
        uriEndpoint: settings.uriEndpoint,
        uriPath: settings.uriPath,
        accessKeyId: credential.AccessKeyId,
        secretAccessKey: credential.RawSecretAccessKey,
        region: ctx.scope.region,
      },
      'CreateCustomKeyStore',
    )
  }
  const identity = { region: ctx.scope.region, customKeyStoreId }
  return {
    ...newStoreBase(ctx, input, customKeyStoreId),
    customKeyStoreType: 'EXTERNAL_KEY_STORE',
    xksProxy: {
      ...settings,
      accessKeyId: credential.AccessKeyId,
      wrappedSecret: await ctx.customKeyStores.wrapXksSecret(
        identity,
        credential.RawSecretAccessKey,
      ),
    },
  }
}
