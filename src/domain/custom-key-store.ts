import type { Random } from '../ports/random.js'

/** ConnectionStateType (API Reference, CustomKeyStoresListEntry.ConnectionState). */
export type ConnectionState =
  'CONNECTED' | 'CONNECTING' | 'FAILED' | 'DISCONNECTED' | 'DISCONNECTING'

/** What every custom key store record holds, whatever its type. */
interface CustomKeyStoreBase {
  readonly schemaVersion: 1
  readonly customKeyStoreId: string
  readonly accountId: string
  readonly region: string
  readonly name: string
  /** Epoch milliseconds. */
  readonly creationDate: number
  readonly connectionState: ConnectionState
  /** Why the last connection attempt failed; present only while FAILED. */
  readonly connectionErrorCode?: string
}

/**
 * A custom key store of type AWS_CLOUDHSM, as stored. Its "cluster" is an HSM connection
 * declared in Keyward's configuration (a PKCS#11 module and token); the password is the
 * token's user PIN, kept only wrapped under the root key.
 */
export interface CloudHsmKeyStoreRecord extends CustomKeyStoreBase {
  readonly customKeyStoreType: 'AWS_CLOUDHSM'
  readonly cloudHsmClusterId: string
  readonly trustAnchorCertificate: string
  /** The KeyStorePassword wrapped under the root key (base64); never returned or logged. */
  readonly wrappedPassword: string
}

/** XksProxyConnectivityType (API Reference, CreateCustomKeyStore.XksProxyConnectivity). */
export type XksProxyConnectivity = 'PUBLIC_ENDPOINT' | 'VPC_ENDPOINT_SERVICE'

/**
 * How Keyward reaches an external key store proxy (API Reference, XksProxyConfigurationType).
 * VPC endpoint service settings are validated and kept, but Keyward always connects to
 * `uriEndpoint` (it has no VPC to route through: README, "Deviations").
 */
export interface XksProxySettings {
  readonly connectivity: XksProxyConnectivity
  /** `https://host` (AWS), or `https://host:port` (a Keyward extension). */
  readonly uriEndpoint: string
  /** `[/prefix]/kms/xks/v1`. */
  readonly uriPath: string
  readonly vpcEndpointServiceName?: string
  readonly vpcEndpointServiceOwner?: string
  /** XksProxyAuthenticationCredential.AccessKeyId (returned by DescribeCustomKeyStores). */
  readonly accessKeyId: string
  /** RawSecretAccessKey wrapped under the root key (base64); never returned or logged. */
  readonly wrappedSecret: string
}

/** A custom key store of type EXTERNAL_KEY_STORE (an XKS proxy in front of an external key manager). */
export interface ExternalKeyStoreRecord extends CustomKeyStoreBase {
  readonly customKeyStoreType: 'EXTERNAL_KEY_STORE'
  readonly xksProxy: XksProxySettings
}

/** A custom key store, as stored: one of the two types AWS has. */
export type CustomKeyStoreRecord = CloudHsmKeyStoreRecord | ExternalKeyStoreRecord

/**
 * A new custom key store ID in AWS's shape, `cks-` and 17 hex digits (API Reference,
 * CreateCustomKeyStore example: cks-1234567890abcdef0).
 *
 * @example
 *   newCustomKeyStoreId(systemRandom) // 'cks-5ebd6b3b8f0d9e1a2'
 */
export function newCustomKeyStoreId(random: Random): string {
  return 'cks-' + random.bytes(9).toString('hex').slice(0, 17)
}

/**
 * The root-key wrapping context of a store's XKS proxy secret: it opens for no other record.
 *
 * @example
 *   await rootKey.wrap(Buffer.from(secret), xksSecretContext(store))
 */
export const xksSecretContext = (store: { region: string; customKeyStoreId: string }) =>
  `keyward:xks-proxy-secret:v1:${store.region}:${store.customKeyStoreId}`

/**
 * The root-key wrapping context of a store's password: it opens for no other record.
 *
 * @example
 *   await rootKey.wrap(Buffer.from(password), passwordContext(store))
 */
export const passwordContext = (store: { region: string; customKeyStoreId: string }) =>
  `keyward:custom-key-store-password:v1:${store.region}:${store.customKeyStoreId}`

/**
 * The CustomKeyStoresListEntry DescribeCustomKeyStores returns: never the password, and a
 * ConnectionErrorCode only while the state is FAILED (API Reference, ConnectionErrorCode:
 * "This field appears in the response only when the ConnectionState is FAILED").
 *
 * @example
 *   return { CustomKeyStores: stores.map(toCustomKeyStoresListEntry) }
 */
export function toCustomKeyStoresListEntry(store: CustomKeyStoreRecord) {
  return {
    CustomKeyStoreId: store.customKeyStoreId,
    CustomKeyStoreName: store.name,
    CustomKeyStoreType: store.customKeyStoreType,
    ...(store.customKeyStoreType === 'AWS_CLOUDHSM'
      ? {
          CloudHsmClusterId: store.cloudHsmClusterId,
          TrustAnchorCertificate: store.trustAnchorCertificate,
        }
      : { XksProxyConfiguration: toXksProxyConfiguration(store.xksProxy) }),
    ConnectionState: store.connectionState,
    ...(store.connectionState === 'FAILED' && store.connectionErrorCode
      ? { ConnectionErrorCode: store.connectionErrorCode }
      : {}),
    CreationDate: new Date(store.creationDate),
  }
}

/**
 * XksProxyConfiguration: everything but the secret (API Reference, XksProxyConfigurationType:
 * "the AccessKeyId … The secret access key is not returned").
 */
function toXksProxyConfiguration(xks: XksProxySettings) {
  return {
    Connectivity: xks.connectivity,
    AccessKeyId: xks.accessKeyId,
    UriEndpoint: xks.uriEndpoint,
    UriPath: xks.uriPath,
    ...(xks.vpcEndpointServiceName !== undefined
      ? { VpcEndpointServiceName: xks.vpcEndpointServiceName }
      : {}),
    ...(xks.vpcEndpointServiceOwner !== undefined
      ? { VpcEndpointServiceOwner: xks.vpcEndpointServiceOwner }
      : {}),
  }
}
