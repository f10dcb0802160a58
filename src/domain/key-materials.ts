import {
  findMaterial,
  materialsOf,
  type ImportInfo,
  type KeyMaterialInfo,
  type KeyRecord,
  type KeyState,
  type RotationType,
} from './key.js'

/**
 * The key materials of a key and how they change: rotation (a new material becomes current,
 * the old ones keep decrypting), import of material into an EXTERNAL key, and its deletion or
 * expiry. Pure: the KeyService stores the result in one transaction, and the wrapped bytes live
 * in the store's material rows, never here.
 *
 * Vocabulary of the API Reference (RotationsListEntry, 2025-06): a material is CURRENT (used to
 * encrypt and decrypt), NON_CURRENT (decrypt only) or PENDING_ROTATION (imported for an
 * on-demand rotation that has not happened; "not permanently associated with the KMS key").
 * Imported material is IMPORTED or PENDING_IMPORT (deleted or expired: the key cannot be used
 * until the same material is imported again).
 */

export type {
  ExpirationModel,
  ImportInfo,
  ImportState,
  KeyMaterialInfo,
  KeyMaterialState,
  RotationType,
} from './key.js'
export { currentImport, findMaterial, materialsOf, materialState } from './key.js'

/** The imported material waiting for an on-demand rotation, if any. */
export function pendingMaterial(key: KeyRecord): KeyMaterialInfo | undefined {
  return materialsOf(key).find((m) => m.pendingRotation)
}

/** How many on-demand rotations the key has had (AWS allows 25; key-rotation.ts). */
export function onDemandRotations(key: KeyRecord): number {
  return materialsOf(key).filter((m) => m.rotationType === 'ON_DEMAND').length
}

/**
 * Whether every material permanently associated with the key is imported (a pending one does
 * not count): "symmetric keys need all of their key materials imported" to be usable
 * (Developer Guide, "Importing key material", 2025-06).
 */
export function allImported(key: KeyRecord): boolean {
  const associated = materialsOf(key).filter((m) => !m.pendingRotation)
  return (
    associated.length > 0 && associated.every((m) => m.imported?.importState !== 'PENDING_IMPORT')
  )
}

/** The earliest ValidTo of the key's imported materials, for the expiry job's index. */
export function earliestExpiry(key: KeyRecord): number | undefined {
  const dates = materialsOf(key)
    .map((m) => (m.imported?.importState === 'IMPORTED' ? m.imported.validTo : undefined))
    .filter((d): d is number => d !== undefined)
  return dates.length > 0 ? Math.min(...dates) : undefined
}

/** IDs of the imported materials whose ValidTo has passed at `now`. */
export function expiredMaterials(key: KeyRecord, now: number): string[] {
  return materialsOf(key)
    .filter(
      (m) => m.imported?.importState === 'IMPORTED' && (m.imported.validTo ?? Infinity) <= now,
    )
    .map((m) => m.keyMaterialId)
}

/**
 * The key after a rotation to `keyMaterialId` at `at`: that material becomes CURRENT (a new
 * generated one is appended; an imported one pending rotation is promoted), and the previous
 * one stays for decryption (API Reference, RotateKeyOnDemand and EnableKeyRotation).
 *
 * @example
 *   withRotation(key, { keyMaterialId: id, at: now, type: 'ON_DEMAND' }).currentKeyMaterialId // id
 */
export function withRotation(
  key: KeyRecord,
  rotation: { keyMaterialId: string; at: number; type: RotationType },
): KeyRecord {
  const stamp = { rotationDate: rotation.at, rotationType: rotation.type }
  const known = findMaterial(key, rotation.keyMaterialId)
  const materials = known
    ? materialsOf(key).map((m) => {
        if (m.keyMaterialId !== rotation.keyMaterialId) return m
        const { pendingRotation: _pending, ...rest } = m
        return { ...rest, ...stamp }
      })
    : [
        ...materialsOf(key),
        { keyMaterialId: rotation.keyMaterialId, createdAt: rotation.at, ...stamp },
      ]
  return { ...key, materials, currentKeyMaterialId: rotation.keyMaterialId }
}

/**
 * The key after material was imported. The first material of a key becomes its current one;
 * new material imported into a key that has some waits for an on-demand rotation; material the
 * key already knows (reimport) is IMPORTED again with its new expiration. A key pending import
 * whose materials are then all imported becomes Enabled (API Reference, ImportKeyMaterial).
 */
export function withImportedMaterial(
  key: KeyRecord,
  material: { keyMaterialId: string; at: number; info: ImportInfo },
): KeyRecord {
  const known = findMaterial(key, material.keyMaterialId)
  const info: ImportInfo = {
    ...material.info,
    ...(material.info.description === undefined && known?.imported?.description !== undefined
      ? { description: known.imported.description }
      : {}),
  }
  let next: KeyRecord
  if (known) {
    next = {
      ...key,
      materials: materialsOf(key).map((m) =>
        m.keyMaterialId === material.keyMaterialId ? { ...m, imported: info } : m,
      ),
    }
  } else {
    const first = materialsOf(key).length === 0
    const entry: KeyMaterialInfo = {
      keyMaterialId: material.keyMaterialId,
      createdAt: material.at,
      ...(first ? {} : { pendingRotation: true as const }),
      imported: info,
    }
    next = {
      ...key,
      materials: [...materialsOf(key), entry],
      ...(first ? { currentKeyMaterialId: material.keyMaterialId } : {}),
    }
  }
  return next.keyState === 'PendingImport' && allImported(next)
    ? { ...next, keyState: 'Enabled' }
    : next
}

/** States in which losing material does not change the key state (Developer Guide). */
const KEEPS_STATE: ReadonlySet<KeyState> = new Set(['PendingDeletion', 'PendingReplicaDeletion'])

/**
 * The key after imported materials were deleted (DeleteImportedKeyMaterial) or expired: a
 * material pending rotation is forgotten ("you can delete this key material and import
 * different key material in its place"); any other becomes PENDING_IMPORT and the key becomes
 * PendingImport, except that a key pending deletion stays so (API Reference,
 * DeleteImportedKeyMaterial).
 */
export function withMaterialsDeleted(key: KeyRecord, keyMaterialIds: readonly string[]): KeyRecord {
  const doomed = new Set(keyMaterialIds)
  const materials = materialsOf(key)
    .filter((m) => !(doomed.has(m.keyMaterialId) && m.pendingRotation))
    .map((m) => {
      if (!doomed.has(m.keyMaterialId)) return m
      const description = m.imported?.description
      const imported: ImportInfo = {
        importState: 'PENDING_IMPORT',
        ...(description === undefined ? {} : { description }),
      }
      return { ...m, imported }
    })
  const next: KeyRecord = { ...key, materials }
  if (allImported(next) || KEEPS_STATE.has(key.keyState)) return next
  return { ...next, keyState: 'PendingImport' }
}
