import { NotFoundException } from '../domain/errors/exceptions.js'
import { keyArn } from '../domain/identifiers.js'
import { assertKeyState } from '../domain/key-state.js'
import { assertPrimary } from '../domain/multi-region.js'
import { settle, swapPrimary } from '../services/multi-region-keys.js'
import type { Handler } from './context.js'

/**
 * UpdatePrimaryRegion (API Reference): the replica in PrimaryRegion becomes the primary key
 * and the primary one of its replicas; key IDs, ARNs, material, policies and every other
 * independent property stay. Called in the primary's Region. Both keys are Updating while the
 * roles change (usable for cryptography, not for ReplicateKey, EnableKey, DisableKey, …) and
 * then return to their state (Developer Guide, "Updating the primary Region"). The answer is
 * empty.
 *
 * The replica is looked up in its own Region: no replica there is NotFoundException with
 * AWS's "does not exist" text for its ARN (AWS's type and text are not documented).
 */
export const updatePrimaryRegion: Handler<'UpdatePrimaryRegion'> = async (ctx, input) => {
  const primary = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const set = assertPrimary(primary)
  assertKeyState(primary, 'updatePrimaryRegion')
  const replicaArn = keyArn(
    { accountId: primary.accountId, region: input.PrimaryRegion },
    primary.keyId,
  )
  const replica = set.replicaRegions.includes(input.PrimaryRegion)
    ? await ctx.keys.findKey(input.PrimaryRegion, primary.keyId)
    : undefined
  if (!replica) throw new NotFoundException(`Key '${replicaArn}' does not exist`)
  // The caller needs kms:UpdatePrimaryRegion on the replica too, in its Region (API Reference,
  // UpdatePrimaryRegion, "Required permissions"): it is authorized like any resolved key.
  await ctx.onKeyResolved(replica)
  assertKeyState(replica, 'updatePrimaryRegion')
  await swapPrimary(ctx.keys, { primary, replica })
  for (const key of [primary, replica]) await settle(ctx.keys, key)
  return {}
}
