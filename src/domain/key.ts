import { KEY_ORIGINS, type Origin } from './key-origins.js'
import type { KeySpec, KeyUsage } from './key-specs.js'
import { algorithmsFor, KEY_SPECS } from './key-specs.js'
import { currentImport, type KeyMaterialInfo } from './key-materials.js'

/** AWS's key states (API Reference, KeyMetadata.KeyState). */
export type KeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating'

export type { Origin } from './key-origins.js'

export interface Tag {
  readonly TagKey: string
  readonly TagValue: string
}

/**
 * A KMS key as stored. Enum values are AWS's strings; times are epoch milliseconds. The record
 * carries a schemaVersion: src/adapters/store-sqlite/record-migrations.ts upgrades old ones.
 */
export interface KeyRecord {
  readonly schemaVersion: 1
  readonly keyId: string
  readonly accountId: string
  readonly region: string
  readonly arn: string
  readonly creationDate: number
  readonly keyState: KeyState
  readonly description: string
  readonly keyUsage: KeyUsage
  readonly keySpec: KeySpec
  readonly origin: Origin
  /**
   * The custom key store the key lives in (Origin AWS_CLOUDHSM): its material is a
   * non-extractable object on the store's token, labelled with the key ARN.
   */
  readonly customKeyStoreId?: string
  /** The store's CloudHsmClusterId when the key was created (KeyMetadata.CloudHsmClusterId). */
  readonly cloudHsmClusterId?: string
  /**
   * Origin EXTERNAL_KEY_STORE: the external key's ID in the proxy (XksKeyConfiguration.Id).
   * The key's own material (the inner layer of double encryption) is stored like any other.
   */
  readonly xksKeyId?: string
  readonly keyManager: 'CUSTOMER' | 'AWS'
  readonly multiRegion: boolean
  readonly policy: string
  readonly tags: readonly Tag[]
  /** The material new ciphertexts use; absent while no material exists (PendingImport). */
  readonly currentKeyMaterialId?: string
  /**
   * The DER SubjectPublicKeyInfo of an asymmetric key pair, base64 (public, so stored in the
   * clear: GetPublicKey and Verify need no unwrap). Absent for symmetric and HMAC keys.
   */
  readonly publicKey?: string
  readonly deletionDate?: number
  readonly pendingDeletionWindowInDays?: number
  /**
   * Every key material associated with the key, oldest first: what ListKeyRotations reports
   * (src/domain/key-materials.ts). Absent on records written before rotation existed: such a
   * key has exactly one material, its current one.
   */
  readonly materials?: readonly KeyMaterialInfo[]
  /**
   * Automatic rotation (EnableKeyRotation), present only while enabled: the period and the
   * date the scheduler's rotation job next rotates the key (src/domain/key-rotation.ts).
   */
  readonly rotationPeriodInDays?: number
  readonly nextRotationDate?: number
  /**
   * Origin EXTERNAL only: the secret that makes KeyMaterialIds of imported material, wrapped
   * under the root key (base64). See KeyService.importedMaterialId.
   */
  readonly materialIdKey?: string
}

/** One version of a key's material, wrapped under the root key. */
export interface KeyMaterialRecord {
  readonly keyId: string
  readonly region: string
  /** 64 lowercase hex characters (AWS's KeyMaterialId format). */
  readonly keyMaterialId: string
  readonly createdAt: number
  /** The material sealed by the RootKey port; never the raw bytes. */
  readonly wrapped: Buffer
}

const seconds = (ms: number) => new Date(ms)

/**
 * DescribeKey's KeyMetadata, built only from the record and the key-spec table.
 *
 * @example
 *   toKeyMetadata(record).KeyState // 'Enabled'
 */
export function toKeyMetadata(key: KeyRecord) {
  const spec = KEY_SPECS[key.keySpec]
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: seconds(key.creationDate),
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.keyState,
    DeletionDate: key.deletionDate === undefined ? undefined : seconds(key.deletionDate),
    Origin: key.origin,
    KeyManager: key.keyManager,
    CustomerMasterKeySpec: spec.customerMasterKeySpec,
    KeySpec: key.keySpec,
    ...algorithmsFor(key.keySpec, key.keyUsage),
    MultiRegion: key.multiRegion,
    // Reported only while an MRK primary waits for its replicas (API Reference, KeyMetadata).
    PendingDeletionWindowInDays:
      key.keyState === 'PendingReplicaDeletion' ? key.pendingDeletionWindowInDays : undefined,
    // "present for symmetric encryption keys with AWS_KMS origin and single-Region, symmetric
    // encryption keys with EXTERNAL origin" (API Reference, KeyMetadata.CurrentKeyMaterialId).
    CurrentKeyMaterialId:
      key.keySpec === 'SYMMETRIC_DEFAULT' && KEY_ORIGINS[key.origin].reportsCurrentKeyMaterialId
        ? key.currentKeyMaterialId
        : undefined,
    ...(key.customKeyStoreId !== undefined ? { CustomKeyStoreId: key.customKeyStoreId } : {}),
    ...(key.cloudHsmClusterId !== undefined ? { CloudHsmClusterId: key.cloudHsmClusterId } : {}),
    ...(key.xksKeyId !== undefined ? { XksKeyConfiguration: { Id: key.xksKeyId } } : {}),
    ...expirationOf(key),
  }
}

/**
 * ExpirationModel and ValidTo of an EXTERNAL key whose current material is imported; both are
 * absent while it is pending import, as AWS answers after DeleteImportedKeyMaterial (recorded
 * by LocalStack's AWS-validated test_import_key_symmetric).
 */
function expirationOf(key: KeyRecord) {
  const current = currentImport(key)
  if (!current) return {}
  return {
    ExpirationModel: current.expirationModel,
    ValidTo: current.validTo === undefined ? undefined : seconds(current.validTo),
  }
}
