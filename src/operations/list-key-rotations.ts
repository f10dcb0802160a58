import type { KeyRecord } from '../domain/key.js'
import { KEY_ORIGINS } from '../domain/key-origins.js'
import {
  materialState,
  materialsOf,
  pendingMaterial,
  type KeyMaterialInfo,
} from '../domain/key-materials.js'
import { awaitingReplicaImports } from '../domain/multi-region.js'
import { replicasOf } from '../services/multi-region-keys.js'
import type { Handler } from './context.js'
import { pageOfList, readPageRequest } from './support/pagination.js'
import { assertRotatableSpec } from './support/rotation.js'

/**
 * One RotationsListEntry (API Reference): every material has its ID and state; rotation date
 * and type once a rotation made it current; the import details only for keys with imported
 * material ("This field is only present for symmetric encryption KMS keys with EXTERNAL
 * origin"). KeyId is the bare key ID, as in the API Reference's examples.
 */
function entry(key: KeyRecord, m: KeyMaterialInfo, awaitingReplicas: boolean) {
  const imported = KEY_ORIGINS[key.origin].material === 'imported' ? m.imported : undefined
  const state = materialState(key, m)
  return {
    KeyId: key.keyId,
    KeyMaterialId: m.keyMaterialId,
    KeyMaterialDescription: imported?.description,
    ImportState: imported?.importState,
    KeyMaterialState:
      state === 'PENDING_ROTATION' && awaitingReplicas
        ? ('PENDING_MULTI_REGION_IMPORT_AND_ROTATION' as const)
        : state,
    ExpirationModel: imported?.expirationModel,
    ValidTo: imported?.validTo === undefined ? undefined : new Date(imported.validTo),
    RotationDate: m.rotationDate === undefined ? undefined : new Date(m.rotationDate),
    RotationType: m.rotationType,
  }
}

/**
 * Materials in the order they came to the key: the listing's position is the sort key. Only
 * the last entry (a material pending rotation) is ever removed, so a position never moves and
 * a marker stays valid.
 */
const positionKey = (position: number) => String(position).padStart(8, '0')

/**
 * ListKeyRotations: the completed rotations of a symmetric key, oldest first
 * (IncludeKeyMaterial ROTATIONS_ONLY, the default), or every material including the first one
 * and one pending rotation (ALL_KEY_MATERIAL), paged by Limit (1–1000, default 100) and Marker
 * (API Reference, ListKeyRotations; Developer Guide, "List rotations and key materials"). Keys
 * that cannot rotate get UnsupportedOperationException. Works in every key state.
 */
export const listKeyRotations: Handler<'ListKeyRotations'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  assertRotatableSpec(key)
  const request = readPageRequest('ListKeyRotations', input)
  const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL'
  const items = materialsOf(key)
    .map((material, position) => ({ material, position }))
    .filter(({ material }) => all || material.rotationDate !== undefined)
  const out = pageOfList('ListKeyRotations', request, {
    items,
    sortKey: (i) => positionKey(i.position),
  })
  // New imported material of a multi-Region primary waits for every replica's import first.
  const pending = pendingMaterial(key)
  const awaiting =
    pending !== undefined &&
    awaitingReplicaImports(
      await replicasOf(key, (region, keyId) => ctx.keys.findKey(region, keyId)),
      pending.keyMaterialId,
    )
  return {
    Rotations: out.items.map((i) => entry(key, i.material, awaiting)),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
