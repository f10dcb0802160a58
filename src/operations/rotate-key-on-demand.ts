import { assertNotReplica, awaitingReplicaImports } from '../domain/multi-region.js'
import type { KeyStoreTransaction } from '../ports/key-store.js'
import { replicasOf } from '../services/multi-region-keys.js'
import {
  ConflictException,
  KMSInvalidStateException,
  LimitExceededException,
  UnsupportedOperationException,
} from '../domain/errors/exceptions.js'
import type { KeyRecord } from '../domain/key.js'
import { onDemandRotations, pendingMaterial, withRotation } from '../domain/key-materials.js'
import { conflictsWithAutomaticRotation, ON_DEMAND_ROTATION_LIMIT } from '../domain/key-rotation.js'
import { KEY_ORIGINS } from '../domain/key-origins.js'
import { assertKeyState } from '../domain/key-state.js'
import type { Handler } from './context.js'
import { assertRotatableSpec } from './support/rotation.js'

/**
 * The checks of an on-demand rotation, in the order AWS answers them (LocalStack's
 * AWS-validated tests): a disabled key or one pending deletion first; then the spec (asymmetric
 * and HMAC keys: UnsupportedOperationException with no message); then pending import; then, for
 * imported material, that new material waits for the rotation ("No available key material
 * pending rotation for the key: <arn>.", recorded); then the quota of 25 (message recorded);
 * then an automatic rotation due within 20 minutes (ConflictException).
 */
function assertCanRotateOnDemand(key: KeyRecord, now: number): void {
  if (key.keyState !== 'PendingImport') assertKeyState(key, 'use')
  assertRotatableSpec(key)
  // On-demand rotation of multi-Region keys "is invoked on the primary" (API Reference,
  // RotateKeyOnDemand); the replicas get the new material in the same transaction.
  assertNotReplica(key)
  // Keys in a custom key store cannot rotate (kms-api.md §3.4, footnote [7]).
  if (!KEY_ORIGINS[key.origin].onDemandRotation) {
    throw new UnsupportedOperationException(
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    )
  }
  assertKeyState(key, 'use')
  if (KEY_ORIGINS[key.origin].material === 'imported' && !pendingMaterial(key)) {
    throw new KMSInvalidStateException(
      `No available key material pending rotation for the key: ${key.arn}.`,
    )
  }
  if (onDemandRotations(key) >= ON_DEMAND_ROTATION_LIMIT) {
    throw new LimitExceededException(
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
    )
  }
  if (conflictsWithAutomaticRotation(key, now)) {
    throw new ConflictException(
      'The request was rejected because an automatic rotation of this key is currently in progress or scheduled to begin within the next 20 minutes.',
    )
  }
}

/**
 * An imported multi-Region primary rotates to new material only once every replica imported
 * it too ("import the same key material into each replica … then rotate the primary", API
 * Reference, RotateKeyOnDemand and ImportKeyMaterial, 2025-11). AWS's answer otherwise is not
 * documented; the state (PENDING_MULTI_REGION_IMPORT_AND_ROTATION) is, so the refusal is a
 * KMSInvalidStateException naming the material.
 */
async function assertImportedInReplicas(
  tx: KeyStoreTransaction,
  key: KeyRecord,
  keyMaterialId: string,
): Promise<void> {
  const replicas = await replicasOf(key, (region, keyId) => tx.getKey(region, keyId))
  if (awaitingReplicaImports(replicas, keyMaterialId)) {
    throw new KMSInvalidStateException(
      `Key material (id: ${keyMaterialId}) of ${key.arn} is pending import into its replica keys; import it into every replica key before the rotation.`,
    )
  }
}

/**
 * RotateKeyOnDemand: the key's new material becomes current at once, in one transaction. A key
 * with AWS_KMS origin gets fresh material; a key with imported material switches to the
 * material imported with ImportType NEW_KEY_MATERIAL (API Reference, RotateKeyOnDemand, since
 * 2025-06). Older materials keep decrypting; the automatic schedule does not move. The
 * response KeyId is the key ARN (LocalStack's AWS-validated test_rotate_on_demand_returns_arn_for_key_id).
 */
export const rotateKeyOnDemand: Handler<'RotateKeyOnDemand'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  assertCanRotateOnDemand(key, ctx.clock.now())
  await ctx.keys.mutate(key, async (current, tx) => {
    const now = ctx.clock.now()
    assertCanRotateOnDemand(current, now)
    const pending = pendingMaterial(current)
    if (pending) await assertImportedInReplicas(tx, current, pending.keyMaterialId)
    return pending
      ? withRotation(current, { keyMaterialId: pending.keyMaterialId, at: now, type: 'ON_DEMAND' })
      : ctx.keys.rotateToNewMaterial(tx, current, { type: 'ON_DEMAND' })
  })
  return { KeyId: key.arn }
}
