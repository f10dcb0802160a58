import { KEY_ORIGINS, type Origin } from './key-origins.js'
import type { KeySpec, KeyUsage } from './key-specs.js'
import { algorithmsFor, KEY_SPECS } from './key-specs.js'
import { keyArn } from './identifiers.js'

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

/*
 * The materials of a key as its record lists them (no secret in here). How they change
 * (rotation, import, expiry) is src/domain/key-materials.ts; these types and readers live here
 * because the record and its AWS view need them, and key-materials.ts needs the record.
 *
 * Vocabulary of the API Reference (RotationsListEntry, 2025-06): a material is CURRENT (used to
 * encrypt and decrypt), NON_CURRENT (decrypt only) or PENDING_ROTATION (imported for an
 * on-demand rotation that has not happened). Imported material is IMPORTED or PENDING_IMPORT.
 */

export type RotationType = 'AUTOMATIC' | 'ON_DEMAND'
export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE'
export type KeyMaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION'
export type ImportState = 'IMPORTED' | 'PENDING_IMPORT'

/** What is known of an imported material (origin EXTERNAL only). */
export interface ImportInfo {
  readonly importState: ImportState
  /** Present while IMPORTED. */
  readonly expirationModel?: ExpirationModel
  /** Epoch ms; present while IMPORTED with KEY_MATERIAL_EXPIRES. */
  readonly validTo?: number
  readonly description?: string
}

/** One material of a key, as the key record lists it (no secret in here). */
export interface KeyMaterialInfo {
  /** 64 lowercase hex characters. */
  readonly keyMaterialId: string
  /** When it was generated or first imported (epoch ms); orders the listing. */
  readonly createdAt: number
  /** When a rotation made it current; absent for the first material and a pending one. */
  readonly rotationDate?: number
  readonly rotationType?: RotationType
  /** Imported for an on-demand rotation that has not happened yet. */
  readonly pendingRotation?: true
  readonly imported?: ImportInfo
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
  /**
   * Multi-Region keys only: this key's role and where its related keys live (Developer Guide,
   * "Multi-Region keys"). Every related key's record carries the whole set, and every change of
   * the set rewrites all of them in one transaction (src/services/multi-region-keys.ts).
   */
  readonly multiRegionConfiguration?: MultiRegionSet
  /**
   * Creating and Updating only: the state the key settles in when that transient state ends
   * (Enabled or PendingImport for a new replica; the state before UpdatePrimaryRegion).
   */
  readonly settlesTo?: KeyState
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

/** The related keys of a multi-Region key, as each of its records holds them. */
export interface MultiRegionSet {
  readonly keyType: 'PRIMARY' | 'REPLICA'
  readonly primaryRegion: string
  /** The Regions of every replica, in the order they were made. */
  readonly replicaRegions: readonly string[]
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
    ...multiRegionConfigurationOf(key),
    // Reported only while an MRK primary waits for its replicas (API Reference, KeyMetadata).
    PendingDeletionWindowInDays:
      key.keyState === 'PendingReplicaDeletion' ? key.pendingDeletionWindowInDays : undefined,
    // "present for symmetric encryption keys with AWS_KMS origin and single-Region, symmetric
    // encryption keys with EXTERNAL origin" (API Reference, KeyMetadata.CurrentKeyMaterialId).
    // A replica being created has none yet (LocalStack's AWS-validated test_replicate_key).
    CurrentKeyMaterialId:
      key.keySpec === 'SYMMETRIC_DEFAULT' &&
      KEY_ORIGINS[key.origin].reportsCurrentKeyMaterialId &&
      key.keyState !== 'Creating'
        ? key.currentKeyMaterialId
        : undefined,
    ...(key.customKeyStoreId !== undefined ? { CustomKeyStoreId: key.customKeyStoreId } : {}),
    ...(key.cloudHsmClusterId !== undefined ? { CloudHsmClusterId: key.cloudHsmClusterId } : {}),
    ...(key.xksKeyId !== undefined ? { XksKeyConfiguration: { Id: key.xksKeyId } } : {}),
    ...expirationOf(key),
  }
}

/**
 * KeyMetadata.MultiRegionConfiguration: present only on multi-Region keys (absent, not null, on
 * single-Region ones: LocalStack's AWS-validated
 * test_non_multi_region_keys_should_not_have_multi_region_properties). PrimaryKey names the
 * primary even on the primary itself, ReplicaKeys every replica, this one included (API
 * Reference, MultiRegionConfiguration); a primary without replicas answers `ReplicaKeys: []`.
 */
function multiRegionConfigurationOf(key: KeyRecord) {
  const set = key.multiRegionConfiguration
  if (!set) return {}
  const related = (region: string) => ({
    Arn: keyArn({ accountId: key.accountId, region }, key.keyId),
    Region: region,
  })
  return {
    MultiRegionConfiguration: {
      MultiRegionKeyType: set.keyType,
      PrimaryKey: related(set.primaryRegion),
      ReplicaKeys: set.replicaRegions.map(related),
    },
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

/**
 * The key's materials, oldest first. A record written before rotation existed lists none: its
 * only material is its current one, created with the key.
 *
 * @example
 *   materialsOf(newKey).length // 1
 */
export function materialsOf(key: KeyRecord): readonly KeyMaterialInfo[] {
  if (key.materials) return key.materials
  return key.currentKeyMaterialId
    ? [{ keyMaterialId: key.currentKeyMaterialId, createdAt: key.creationDate }]
    : []
}

/** CURRENT, NON_CURRENT or PENDING_ROTATION. */
export function materialState(key: KeyRecord, material: KeyMaterialInfo): KeyMaterialState {
  if (material.pendingRotation) return 'PENDING_ROTATION'
  return material.keyMaterialId === key.currentKeyMaterialId ? 'CURRENT' : 'NON_CURRENT'
}

/** The material with this ID, if the key has it. */
export function findMaterial(key: KeyRecord, keyMaterialId: string): KeyMaterialInfo | undefined {
  return materialsOf(key).find((m) => m.keyMaterialId === keyMaterialId)
}

/** The import details of an EXTERNAL key's current material while it is imported. */
export function currentImport(key: KeyRecord): ImportInfo | undefined {
  if (KEY_ORIGINS[key.origin].material !== 'imported' || !key.currentKeyMaterialId) return undefined
  const imported = findMaterial(key, key.currentKeyMaterialId)?.imported
  return imported?.importState === 'IMPORTED' ? imported : undefined
}
