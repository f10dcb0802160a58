import { AlreadyExistsException } from '../domain/errors/exceptions.js'
import { keyNotFound } from '../domain/errors/messages.js'
import { keyArn } from '../domain/identifiers.js'
import type { KeyRecord } from '../domain/key.js'
import { KEY_ORIGINS } from '../domain/key-origins.js'
import { assertKeyState } from '../domain/key-state.js'
import {
  assertPrimary,
  promoted,
  replicaRecord,
  withSet,
  withSharedProperties,
  without,
  type ReplicaRequest,
} from '../domain/multi-region.js'
import { keysQuotaExceeded } from '../domain/quotas.js'
import type { KeyStoreTransaction } from '../ports/key-store.js'

/**
 * The store side of multi-Region keys: every change to a set of related keys reads and writes
 * all of their records in one transaction, so no Region ever sees half of a change (a replica
 * without its material, a primary that lists a replica that is not there). The rules are the
 * pure functions of src/domain/multi-region.ts.
 */

/**
 * What these functions need of the KeyService (which implements it): a transaction over
 * several keys, and copies of wrapped secrets from one related key to another (a wrapped
 * secret is bound to its key's Region, so a copy is unwrapped and wrapped again).
 */
export interface RelatedKeyChanges {
  /** Runs `fn` in one store transaction, then forgets every cached key. */
  changeRelated<T>(fn: (tx: KeyStoreTransaction) => Promise<T>): Promise<T>
  /** Copies, in `tx`, every stored material of `from` that `to` does not have yet. */
  copyMaterials(tx: KeyStoreTransaction, from: KeyRecord, to: KeyRecord): Promise<void>
  /** `from`'s material-ID secret wrapped for `to` (imported material gets the same IDs). */
  copyMaterialIdKey(from: KeyRecord, to: Pick<KeyRecord, 'region' | 'keyId'>): Promise<string>
  /** The resource quota of keys per account and Region. */
  readonly quotas: { readonly keys: number }
}

const generated = (key: KeyRecord) => KEY_ORIGINS[key.origin].material !== 'imported'

/**
 * Copies the primary's shared properties onto every replica, and its generated materials into
 * their Regions, inside `tx` (KeyService.mutate calls it after any change to a primary). A
 * rotation thus reaches every replica in the transaction that makes it: "AWS KMS doesn't use
 * the new key material … until it is available in the primary key and all of its replicas"
 * (Developer Guide, "Rotating multi-Region keys").
 *
 * @example
 *   await syncReplicas(keys, tx, rotatedPrimary)
 */
export async function syncReplicas(
  keys: Pick<RelatedKeyChanges, 'copyMaterials'>,
  tx: KeyStoreTransaction,
  primary: KeyRecord,
): Promise<void> {
  const set = primary.multiRegionConfiguration
  if (set?.keyType !== 'PRIMARY') return
  for (const region of set.replicaRegions) {
    const replica = await tx.getKey(region, primary.keyId)
    if (!replica) continue
    const next = withSharedProperties(replica, primary)
    if (generated(primary)) await keys.copyMaterials(tx, primary, next)
    await tx.updateKey(next)
  }
}

/**
 * The replicas of `primary` as `read` finds them (a transaction, or the KeyService's cached
 * lookup); none for any other key.
 *
 * @example
 *   const replicas = await replicasOf(primary, (region, keyId) => keys.findKey(region, keyId))
 */
export async function replicasOf(
  primary: KeyRecord,
  read: (region: string, keyId: string) => Promise<KeyRecord | undefined>,
): Promise<KeyRecord[]> {
  const set = primary.multiRegionConfiguration
  if (set?.keyType !== 'PRIMARY') return []
  const found = await Promise.all(set.replicaRegions.map((r) => read(r, primary.keyId)))
  return found.filter((k): k is KeyRecord => k !== undefined)
}

/** Writes `set` into the record of every related key in `regions` (the set changed). */
async function rewriteSet(
  tx: KeyStoreTransaction,
  key: KeyRecord,
  change: { regions: readonly string[]; set: Parameters<typeof withSet>[1] },
): Promise<void> {
  for (const region of change.regions) {
    const related = await tx.getKey(region, key.keyId)
    if (related) await tx.updateKey(withSet(related, change.set))
  }
}

/**
 * ReplicateKey's effect: the replica, complete with its material, appears in the same
 * transaction that lists it on the primary and on every other replica. Rechecks the primary
 * as read there (state, role) and refuses a Region that already holds a related key
 * (AlreadyExistsException, API Reference, ReplicateKey) or is full (the keys quota).
 * Returns the replica as inserted, in state Creating.
 */
export async function insertReplica(
  keys: RelatedKeyChanges,
  primary: KeyRecord,
  request: ReplicaRequest,
): Promise<KeyRecord> {
  const materialIdKey =
    primary.materialIdKey &&
    (await keys.copyMaterialIdKey(primary, { region: request.region, keyId: primary.keyId }))
  return keys.changeRelated(async (tx) => {
    const current = await tx.getKey(primary.region, primary.keyId)
    if (!current) throw keyNotFound(primary.arn)
    assertKeyState(current, 'replicate')
    const set = assertPrimary(current)
    const arn = keyArn({ accountId: current.accountId, region: request.region }, current.keyId)
    if (
      set.replicaRegions.includes(request.region) ||
      (await tx.getKey(request.region, current.keyId))
    ) {
      throw new AlreadyExistsException(`${arn} already exists.`)
    }
    const scope = { accountId: current.accountId, region: request.region }
    const count = await tx.countKeys(scope)
    if (count >= keys.quotas.keys) throw keysQuotaExceeded(keys.quotas.keys, count)
    const replica: KeyRecord = {
      ...replicaRecord(current, request),
      ...(materialIdKey ? { materialIdKey } : {}),
    }
    await tx.insertKey(replica)
    if (generated(current)) await keys.copyMaterials(tx, current, replica)
    const grown = replica.multiRegionConfiguration!
    await rewriteSet(tx, current, { regions: [current.region, ...set.replicaRegions], set: grown })
    return replica
  })
}

/**
 * Ends a transient state: a replica that is Creating, or a key that is Updating, settles in
 * the state its record names (ReplicateKey and UpdatePrimaryRegion commit the transient state
 * first, then this; the scheduler finishes any that a crash left in between). Returns whether
 * the key changed.
 */
export async function settle(
  keys: RelatedKeyChanges,
  key: Pick<KeyRecord, 'region' | 'keyId'>,
): Promise<boolean> {
  return keys.changeRelated(async (tx) => {
    const current = await tx.getKey(key.region, key.keyId)
    if (!current?.settlesTo) return false
    if (current.keyState !== 'Creating' && current.keyState !== 'Updating') return false
    const { settlesTo, ...rest } = current
    await tx.updateKey({ ...rest, keyState: settlesTo })
    return true
  })
}

/**
 * UpdatePrimaryRegion's effect, in one transaction: the replica in `region` becomes the
 * primary and every related record names the new primary; both keys are Updating and
 * remember the state to go back to (Developer Guide, "Updating the primary Region": "both keys
 * … are in the Updating state … then they return to their original state"). Rechecks both keys
 * as read there. Returns the two keys.
 */
export async function swapPrimary(
  keys: RelatedKeyChanges,
  request: {
    primary: KeyRecord
    replica: KeyRecord
  },
): Promise<void> {
  await keys.changeRelated(async (tx) => {
    const primary = await tx.getKey(request.primary.region, request.primary.keyId)
    if (!primary) throw keyNotFound(request.primary.arn)
    const replica = await tx.getKey(request.replica.region, request.replica.keyId)
    if (!replica) throw keyNotFound(request.replica.arn)
    const set = assertPrimary(primary)
    assertKeyState(primary, 'updatePrimaryRegion')
    assertKeyState(replica, 'updatePrimaryRegion')
    const next = promoted(set, replica.region)
    const others = set.replicaRegions.filter((r) => r !== replica.region)
    await rewriteSet(tx, primary, { regions: others, set: next })
    for (const key of [primary, replica]) {
      const settlesTo = key.settlesTo ?? key.keyState
      await tx.updateKey({ ...withSet(key, next), keyState: 'Updating', settlesTo })
    }
  })
}

/**
 * Deletes a related key whose waiting period has ended (the scheduler), and takes it out of
 * the set. When the last replica of a primary that is PendingReplicaDeletion goes, the
 * primary's own waiting period starts: "When the last of its replica keys is deleted, the
 * primary key changes to the PendingDeletion state and its waiting period begins" (Developer
 * Guide, "Deleting multi-Region keys"). Returns whether the key was deleted.
 */
export async function destroyRelated(
  keys: RelatedKeyChanges,
  key: { region: string; keyId: string; now: number },
): Promise<boolean> {
  return keys.changeRelated(async (tx) => {
    const current = await tx.getKey(key.region, key.keyId)
    const due =
      current?.keyState === 'PendingDeletion' &&
      current.deletionDate !== undefined &&
      current.deletionDate <= key.now
    if (!due) return false
    await tx.deleteKey(key.region, key.keyId)
    const set = current.multiRegionConfiguration
    if (!set) return true
    const rest = without(set, key.region)
    await rewriteSet(tx, current, {
      regions: [rest.primaryRegion, ...rest.replicaRegions],
      set: rest,
    })
    const primary = await tx.getKey(rest.primaryRegion, key.keyId)
    if (primary?.keyState === 'PendingReplicaDeletion' && rest.replicaRegions.length === 0) {
      const days = primary.pendingDeletionWindowInDays ?? 30
      await tx.updateKey({
        ...primary,
        keyState: 'PendingDeletion',
        deletionDate: key.now + days * 86_400_000,
      })
    }
    return true
  })
}
