import type {
  CustomKeyStoreRecord,
  XksProxyConnectivity,
  XksProxySettings,
} from '../../domain/custom-key-store.js'
import type { XksProxyTarget } from '../../ports/key-material-backend.js'
import type { Scope } from '../../domain/identifiers.js'
import { XksProxyError, xksStoreSettingsError } from '../../domain/xks-failures.js'
import type { KeyStoreTransaction } from '../../ports/key-store.js'
import {
  ValidationException,
  XksProxyUriEndpointInUseException,
  XksProxyUriInUseException,
  XksProxyVpcEndpointServiceInUseException,
} from '../../domain/errors/exceptions.js'
import type { OperationContext } from '../context.js'

/*
 * The rules of external key store settings shared by CreateCustomKeyStore and
 * UpdateCustomKeyStore (API Reference of both; ../shared/reference/xks.md §2.1).
 */

/** The Xks* members of CreateCustomKeyStore and UpdateCustomKeyStore. */
export interface XksMembers {
  readonly XksProxyUriEndpoint?: string | undefined
  readonly XksProxyUriPath?: string | undefined
  readonly XksProxyVpcEndpointServiceName?: string | undefined
  readonly XksProxyVpcEndpointServiceOwner?: string | undefined
  readonly XksProxyAuthenticationCredential?:
    { readonly AccessKeyId: string; readonly RawSecretAccessKey: string } | undefined
  readonly XksProxyConnectivity?: XksProxyConnectivity | string | undefined
}

/** Members that belong to one store type only. */
export const XKS_MEMBER_NAMES = [
  'XksProxyUriEndpoint',
  'XksProxyUriPath',
  'XksProxyVpcEndpointServiceName',
  'XksProxyVpcEndpointServiceOwner',
  'XksProxyAuthenticationCredential',
  'XksProxyConnectivity',
] as const
export const CLOUD_HSM_MEMBER_NAMES = [
  'CloudHsmClusterId',
  'TrustAnchorCertificate',
  'KeyStorePassword',
] as const

/**
 * Refuses members of the other store type (AWS: "This parameter is valid only for custom key
 * stores with a CustomKeyStoreType of …").
 *
 * @example
 *   refuseMembers(input, CLOUD_HSM_MEMBER_NAMES, 'AWS_CLOUDHSM')
 */
export function refuseMembers(
  input: object,
  names: readonly string[],
  validFor: 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE',
): void {
  const given = names.find((m) => (input as Record<string, unknown>)[m] !== undefined)
  if (given) {
    throw new ValidationException(
      `${given} is valid only for custom key stores with a CustomKeyStoreType of ${validFor}.`,
    )
  }
}

/**
 * The connectivity rules of a complete set of settings: VPC_ENDPOINT_SERVICE needs an
 * XksProxyVpcEndpointServiceName, PUBLIC_ENDPOINT takes none (API Reference,
 * CreateCustomKeyStore, XksProxyVpcEndpointServiceName: "Specify this parameter only when the
 * value of the XksProxyConnectivity parameter is VPC_ENDPOINT_SERVICE").
 */
export function assertConnectivity(settings: {
  connectivity: XksProxyConnectivity
  vpcEndpointServiceName?: string | undefined
  vpcEndpointServiceOwner?: string | undefined
}): void {
  if (settings.connectivity === 'VPC_ENDPOINT_SERVICE') {
    if (settings.vpcEndpointServiceName === undefined) {
      throw new ValidationException(
        'XksProxyVpcEndpointServiceName is required when XksProxyConnectivity is VPC_ENDPOINT_SERVICE.',
      )
    }
    return
  }
  if (
    settings.vpcEndpointServiceName !== undefined ||
    settings.vpcEndpointServiceOwner !== undefined
  ) {
    throw new ValidationException(
      'XksProxyVpcEndpointServiceName and XksProxyVpcEndpointServiceOwner can be specified only when XksProxyConnectivity is VPC_ENDPOINT_SERVICE.',
    )
  }
}

/**
 * Another store of the account and Region may not use the same proxy API address, the same
 * private DNS name of a VPC endpoint service, or the same VPC endpoint service (API Reference,
 * XksProxyUriInUseException, XksProxyUriEndpointInUseException,
 * XksProxyVpcEndpointServiceInUseException).
 */
export async function assertXksSettingsFree(
  tx: Pick<KeyStoreTransaction, 'listCustomKeyStoresOf'>,
  scope: Scope,
  settings: { candidate: Omit<XksProxySettings, 'accessKeyId' | 'wrappedSecret'>; except?: string },
): Promise<void> {
  const { candidate } = settings
  for (const other of await tx.listCustomKeyStoresOf(scope)) {
    if (other.customKeyStoreType !== 'EXTERNAL_KEY_STORE') continue
    if (other.customKeyStoreId === settings.except) continue
    const xks = other.xksProxy
    if (xks.uriEndpoint === candidate.uriEndpoint && xks.uriPath === candidate.uriPath) {
      throw new XksProxyUriInUseException(
        'The request was rejected because the concatenation of the XksProxyUriEndpoint and XksProxyUriPath is already associated with another external key store in this AWS Region. Each external key store in a Region must use a unique external key store proxy API address.',
      )
    }
    // A VPC endpoint service's private DNS name serves one store; a public endpoint may serve
    // several stores through different paths, but not also a VPC store.
    const eitherVpc =
      xks.connectivity === 'VPC_ENDPOINT_SERVICE' ||
      candidate.connectivity === 'VPC_ENDPOINT_SERVICE'
    if (eitherVpc && xks.uriEndpoint === candidate.uriEndpoint) {
      throw new XksProxyUriEndpointInUseException(
        `The request was rejected because the XksProxyUriEndpoint is already associated with external key store ${other.customKeyStoreId} in this AWS Region, and an endpoint used with VPC_ENDPOINT_SERVICE connectivity serves one external key store.`,
      )
    }
    if (
      candidate.vpcEndpointServiceName !== undefined &&
      xks.vpcEndpointServiceName === candidate.vpcEndpointServiceName
    ) {
      throw new XksProxyVpcEndpointServiceInUseException(
        'The request was rejected because the specified Amazon VPC endpoint service is already associated with another external key store in this AWS Region. Each external key store in a Region must use a different Amazon VPC endpoint service.',
      )
    }
  }
}

/**
 * Calls GetHealthStatus with settings about to be stored, and turns a failure into the
 * exception AWS gives for it (xks.md §2.3, the Create/Update column).
 *
 * @example
 *   await checkProxyHealth(ctx, target, 'CreateCustomKeyStore')
 */
export async function checkProxyHealth(
  ctx: OperationContext,
  target: XksProxyTarget,
  kmsOperation: 'CreateCustomKeyStore' | 'UpdateCustomKeyStore',
): Promise<void> {
  try {
    await ctx.customKeyStores.probeXksProxy(target, kmsOperation)
  } catch (error) {
    if (!(error instanceof XksProxyError)) throw error
    throw xksStoreSettingsError(error.failure)
  }
}

/** Narrows a store to an external key store, for code that only makes sense for one. */
export const isExternal = (
  store: CustomKeyStoreRecord,
): store is Extract<CustomKeyStoreRecord, { customKeyStoreType: 'EXTERNAL_KEY_STORE' }> =>
  store.customKeyStoreType === 'EXTERNAL_KEY_STORE'
