import { existsSync } from 'node:fs'
import {
  CUSTOM_KEY_STORES_PER_ACCOUNT,
  newCustomKeyStoreId,
  type CustomKeyStoreRecord,
} from '../domain/custom-key-store.js'
import {
  CloudHsmClusterInUseException,
  CloudHsmClusterNotActiveException,
  CloudHsmClusterNotFoundException,
  IncorrectTrustAnchorException,
  LimitExceededException,
  ValidationException,
} from '../wire/generated/exceptions.js'
import type { CreateCustomKeyStoreInput } from '../wire/generated/model.js'
import type { Handler, OperationContext } from './context.js'
import { nameInUse, refuseExternalKeyStore, storeUsingToken } from './support/custom-key-stores.js'

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
 * CreateCustomKeyStore for CustomKeyStoreType AWS_CLOUDHSM (the default): a store over one of
 * the HSM connections declared in the configuration, created DISCONNECTED (API Reference,
 * CreateCustomKeyStore: "the new custom key store is not connected"). The KeyStorePassword is
 * the token's user PIN; it is checked only by ConnectCustomKeyStore, as AWS does, and kept
 * wrapped under the root key. External key stores are not built.
 */
export const createCustomKeyStore: Handler<'CreateCustomKeyStore'> = async (ctx, input) => {
  refuseExternalKeyStore(input.CustomKeyStoreType)
  const { clusterId, trustAnchor, password } = cloudHsmMembers(input)
  checkCluster(ctx, clusterId, trustAnchor)
  const customKeyStoreId = newCustomKeyStoreId(ctx.random)
  const identity = { region: ctx.scope.region, customKeyStoreId }
  const record: CustomKeyStoreRecord = {
    schemaVersion: 1,
    customKeyStoreId,
    accountId: ctx.scope.accountId,
    region: ctx.scope.region,
    name: input.CustomKeyStoreName,
    customKeyStoreType: 'AWS_CLOUDHSM',
    cloudHsmClusterId: clusterId,
    trustAnchorCertificate: trustAnchor,
    wrappedPassword: await ctx.customKeyStores.wrapPassword(identity, password),
    creationDate: ctx.clock.now(),
    connectionState: 'DISCONNECTED',
  }
  await ctx.customKeyStores.write(async (tx) => {
    if (await tx.findCustomKeyStoreByName(ctx.scope, record.name)) throw nameInUse()
    if (await storeUsingToken(ctx, tx, { clusterId })) {
      throw new CloudHsmClusterInUseException(
        'The request was rejected because the specified AWS CloudHSM cluster is already associated with an AWS CloudHSM key store in the account, or it shares a backup history with an AWS CloudHSM key store in the account. Each AWS CloudHSM key store in the account must be associated with a different AWS CloudHSM cluster.',
      )
    }
    if ((await tx.countCustomKeyStores(ctx.scope)) >= CUSTOM_KEY_STORES_PER_ACCOUNT) {
      throw new LimitExceededException(
        `The number of custom key stores in this account and Region would exceed the limit of ${CUSTOM_KEY_STORES_PER_ACCOUNT}.`,
      )
    }
    await tx.insertCustomKeyStore(record)
  })
  return { CustomKeyStoreId: customKeyStoreId }
}
