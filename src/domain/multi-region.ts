import { UnsupportedOperationException } from './errors/exceptions.js'
import { keyArn } from './identifiers.js'
import { KEY_ORIGINS } from './key-origins.js'
import { allImported } from './key-materials.js'
import {
  materialsOf,
  type KeyMaterialInfo,
  type KeyRecord,
  type MultiRegionSet,
  type Tag,
} from './key.js'

/**
 * Multi-Region keys (Developer Guide, "Multi-Region keys"; ../shared/reference/kms-multiregion.md):
 * related keys in several Regions with one key ID and shared material. Pure: what the records
 * of a set become when a replica is made, a shared property changes on the primary, the primary
 * moves, or a related key is deleted. src/services/multi-region-keys.ts stores the results, all
 * related records in one transaction.
 *
 * Shared (set on the primary, copied to every replica): key ID, key material (all versions),
 * origin, key spec and usage, automatic rotation and its period, the primary/replica roles.
 * Independent (per key): description, key policy, grants, aliases, tags, key state, expiration
 * of imported material, deletion schedule (Developer Guide, "Multi-Region keys overview").
 */

/** The role and set of a multi-Region key; undefined for a single-Region key. */
export const setOf = (key: KeyRecord): MultiRegionSet | undefined => key.multiRegionConfiguration

/** Every Region of the set, the primary's first. */
export function regionsOf(set: MultiRegionSet): string[] {
  return [set.primaryRegion, ...set.replicaRegions]
}

/**
 * Refuses a key that is not a multi-Region primary, with AWS's recorded answer
 * (aws-recorded-errors.md, ReplicateKey, 2025-09-08: "<mrk-key-arn> is not a multi-region
 * primary key."). A single-Region key gets the same text: AWS's answer for it is not recorded,
 * and UnsupportedOperationException is the type the model lists for both.
 *
 * @example
 *   assertPrimary(replica) // UnsupportedOperationException: arn:…:key/mrk-… is not a multi-region primary key.
 */
export function assertPrimary(key: KeyRecord): MultiRegionSet {
  const set = setOf(key)
  if (set?.keyType !== 'PRIMARY') {
    throw new UnsupportedOperationException(`${key.arn} is not a multi-region primary key.`)
  }
  return set
}

/**
 * Refuses to change a shared property (rotation, new material) on a replica: such changes are
 * made on the primary, which copies them (Developer Guide, "Multi-Region keys overview"). The
 * text is ReplicateKey's recorded one: AWS's answer here is not recorded.
 *
 * @example
 *   assertNotReplica(replica) // UnsupportedOperationException: … is not a multi-region primary key.
 */
export function assertNotReplica(key: KeyRecord): void {
  if (setOf(key)?.keyType === 'REPLICA') assertPrimary(key)
}

/** The key with its set replaced, and its role read from where it lives. */
export function withSet(key: KeyRecord, set: Omit<MultiRegionSet, 'keyType'>): KeyRecord {
  const keyType = set.primaryRegion === key.region ? 'PRIMARY' : 'REPLICA'
  return { ...key, multiRegionConfiguration: { ...set, keyType } }
}

/** What ReplicateKey takes besides the primary: the replica's own, independent properties. */
export interface ReplicaRequest {
  readonly region: string
  readonly policy: string
  readonly description: string
  readonly tags: readonly Tag[]
  readonly now: number
}

/**
 * The new replica's record: the primary's shared properties, its own independent ones, in the
 * transient state Creating; it settles in Enabled, or PendingImport when its origin takes
 * imported material, which every Region imports for itself (API Reference, ReplicateKey:
 * "the replica key is created in the Creating state … then Enabled (or PendingImport)").
 */
export function replicaRecord(primary: KeyRecord, request: ReplicaRequest): KeyRecord {
  const set = primary.multiRegionConfiguration!
  const imported = KEY_ORIGINS[primary.origin].material === 'imported'
  const replica: KeyRecord = {
    schemaVersion: 1,
    keyId: primary.keyId,
    accountId: primary.accountId,
    region: request.region,
    arn: keyArn({ accountId: primary.accountId, region: request.region }, primary.keyId),
    creationDate: request.now,
    keyState: 'Creating',
    settlesTo: imported ? 'PendingImport' : 'Enabled',
    description: request.description,
    keyUsage: primary.keyUsage,
    keySpec: primary.keySpec,
    origin: primary.origin,
    keyManager: primary.keyManager,
    multiRegion: true,
    multiRegionConfiguration: {
      keyType: 'REPLICA',
      primaryRegion: set.primaryRegion,
      replicaRegions: [...set.replicaRegions, request.region],
    },
    policy: request.policy,
    tags: [...request.tags],
  }
  return withSharedProperties(replica, primary)
}

/**
 * The materials a replica lists: the primary's, in its order. Generated material is the same
 * everywhere; imported material is imported into each Region by itself (Developer Guide,
 * "Importing key material into multi-Region keys"), so a replica keeps its own import state
 * and expiration of each material, and one it has not imported yet is PENDING_IMPORT.
 */
function sharedMaterials(replica: KeyRecord, primary: KeyRecord): KeyMaterialInfo[] {
  const mine = new Map(materialsOf(replica).map((m) => [m.keyMaterialId, m]))
  return materialsOf(primary).map((m) => {
    if (!m.imported) return m
    const own = mine.get(m.keyMaterialId)?.imported
    return { ...m, imported: own ?? { importState: 'PENDING_IMPORT' } }
  })
}

/**
 * The replica after the primary's shared properties were copied onto it: materials and the
 * current one, the public key of a key pair, automatic rotation and its period (Developer
 * Guide, "Multi-Region keys overview": KMS synchronizes them from the primary). A replica
 * whose current material is not imported there cannot be used: it is PendingImport.
 *
 * @example
 *   withSharedProperties(replica, rotatedPrimary).currentKeyMaterialId === rotatedPrimary.currentKeyMaterialId
 */
export function withSharedProperties(replica: KeyRecord, primary: KeyRecord): KeyRecord {
  const {
    rotationPeriodInDays: _period,
    nextRotationDate: _next,
    currentKeyMaterialId: _current,
    publicKey: _public,
    materials: _materials,
    ...independent
  } = replica
  const next: KeyRecord = {
    ...independent,
    materials: sharedMaterials(replica, primary),
    ...(primary.currentKeyMaterialId !== undefined
      ? { currentKeyMaterialId: primary.currentKeyMaterialId }
      : {}),
    ...(primary.publicKey !== undefined ? { publicKey: primary.publicKey } : {}),
    ...(primary.rotationPeriodInDays !== undefined
      ? { rotationPeriodInDays: primary.rotationPeriodInDays }
      : {}),
    ...(primary.nextRotationDate !== undefined
      ? { nextRotationDate: primary.nextRotationDate }
      : {}),
  }
  const imported = KEY_ORIGINS[next.origin].material === 'imported'
  return imported && next.keyState === 'Enabled' && !allImported(next)
    ? { ...next, keyState: 'PendingImport' }
    : next
}

/**
 * The set after UpdatePrimaryRegion: the replica in `region` becomes the primary, the old
 * primary one of its replicas, and the other replicas stay (Developer Guide, "Updating the
 * primary Region"). The old primary takes the promoted replica's place in the list.
 */
export function promoted(set: MultiRegionSet, region: string): Omit<MultiRegionSet, 'keyType'> {
  return {
    primaryRegion: region,
    replicaRegions: set.replicaRegions.map((r) => (r === region ? set.primaryRegion : r)),
  }
}

/** The set after the related key in `region` was deleted. */
export function without(set: MultiRegionSet, region: string): Omit<MultiRegionSet, 'keyType'> {
  return {
    primaryRegion: set.primaryRegion,
    replicaRegions: set.replicaRegions.filter((r) => r !== region),
  }
}

/**
 * Whether some replica has not imported material `keyMaterialId` yet. New material for an
 * imported multi-Region key is imported into the primary (NEW_KEY_MATERIAL), then into every
 * replica (EXISTING_KEY_MATERIAL), and only then may the primary rotate to it (API Reference,
 * ImportKeyMaterial and RotateKeyOnDemand, 2025-11): until then ListKeyRotations reports it as
 * PENDING_MULTI_REGION_IMPORT_AND_ROTATION (our reading of that state; kms-multiregion.md §8).
 *
 * @example
 *   awaitingReplicaImports([replica], pending.keyMaterialId) // true until the replica imports it
 */
export function awaitingReplicaImports(
  replicas: readonly KeyRecord[],
  keyMaterialId: string,
): boolean {
  return replicas.some(
    (r) =>
      materialsOf(r).find((m) => m.keyMaterialId === keyMaterialId)?.imported?.importState !==
      'IMPORTED',
  )
}
