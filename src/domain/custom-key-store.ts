import type { Random } from '../ports/random.js'

/** ConnectionStateType (API Reference, CustomKeyStoresListEntry.ConnectionState). */
export type ConnectionState =
  'CONNECTED' | 'CONNECTING' | 'FAILED' | 'DISCONNECTED' | 'DISCONNECTING'

/**
 * A custom key store of type AWS_CLOUDHSM, as stored. Its "cluster" is an HSM connection
 * declared in Keyward's configuration (a PKCS#11 module and token); the password is the
 * token's user PIN, kept only wrapped under the root key.
 */
export interface CustomKeyStoreRecord {
  readonly schemaVersion: 1
  readonly customKeyStoreId: string
  readonly accountId: string
  readonly region: string
  readonly name: string
  readonly customKeyStoreType: 'AWS_CLOUDHSM'
  readonly cloudHsmClusterId: string
  readonly trustAnchorCertificate: string
  /** The KeyStorePassword wrapped under the root key (base64); never returned or logged. */
  readonly wrappedPassword: string
  /** Epoch milliseconds. */
  readonly creationDate: number
  readonly connectionState: ConnectionState
  /** Why the last connection attempt failed; present only while FAILED. */
  readonly connectionErrorCode?: string
}

/**
 * At most 10 custom key stores per account and Region (Developer Guide, "Quotas").
 *
 * @example
 *   if (count >= CUSTOM_KEY_STORES_PER_ACCOUNT) throw new LimitExceededException('…')
 */
export const CUSTOM_KEY_STORES_PER_ACCOUNT = 10

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
    CloudHsmClusterId: store.cloudHsmClusterId,
    TrustAnchorCertificate: store.trustAnchorCertificate,
    ConnectionState: store.connectionState,
    ...(store.connectionState === 'FAILED' && store.connectionErrorCode
      ? { ConnectionErrorCode: store.connectionErrorCode }
      : {}),
    CreationDate: new Date(store.creationDate),
  }
}
