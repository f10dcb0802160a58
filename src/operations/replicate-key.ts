import { AlreadyExistsException } from '../domain/errors/exceptions.js'
import { keyArn } from '../domain/identifiers.js'
import { toKeyMetadata } from '../domain/key.js'
import { assertKeyState } from '../domain/key-state.js'
import { assertPrimary } from '../domain/multi-region.js'
import { defaultKeyPolicy } from '../domain/policy/index.js'
import { mergeTags } from '../domain/tags.js'
import { insertReplica, settle } from '../services/multi-region-keys.js'
import type { Handler } from './context.js'
import { assertAcceptableKeyPolicy } from './support/key-policies.js'

/**
 * ReplicateKey (API Reference): a replica of a multi-Region primary key in another Region of
 * the same deployment, with the same key ID, material (every version), spec, usage, origin and
 * rotation settings, and its own policy (the default key policy unless one is given, not the
 * primary's), description ("" by default) and tags. The replica appears complete, in one
 * transaction, in the transient state Creating, which the answer reports as AWS's does; it
 * then settles in Enabled, or PendingImport for imported material (each Region imports the
 * same material itself).
 *
 * Order of the checks: the key and its role first (AWS's recording answers a replica asked to
 * replicate into its own Region with "is not a multi-region primary key."), then its state,
 * then the Region (one related key per Region: AlreadyExistsException), then the policy.
 */
export const replicateKey: Handler<'ReplicateKey'> = async (ctx, input) => {
  const primary = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  const set = assertPrimary(primary)
  assertKeyState(primary, 'replicate')
  const replicaArn = keyArn(
    { accountId: primary.accountId, region: input.ReplicaRegion },
    primary.keyId,
  )
  // "The Region must not be the Region of the primary key or of an existing replica" (API
  // Reference, ReplicateKey, ReplicaRegion); AWS's text is not recorded.
  if (
    input.ReplicaRegion === set.primaryRegion ||
    set.replicaRegions.includes(input.ReplicaRegion)
  ) {
    throw new AlreadyExistsException(`${replicaArn} already exists.`)
  }
  const policy = input.Policy ?? defaultKeyPolicy(primary.accountId)
  if (input.Policy !== undefined) {
    assertAcceptableKeyPolicy(ctx, {
      policy: input.Policy,
      keyArn: replicaArn,
      bypass: input.BypassPolicyLockoutSafetyCheck,
    })
  }
  const tags = mergeTags([], input.Tags ?? [])
  const replica = await insertReplica(ctx.keys, primary, {
    region: input.ReplicaRegion,
    policy,
    description: input.Description ?? '',
    tags,
    now: ctx.clock.now(),
  })
  // The replica is complete already; Creating ends now. Should the process stop in between,
  // the scheduler's multi-Region job ends it (src/services/scheduler.ts).
  await settle(ctx.keys, replica)
  return {
    ReplicaKeyMetadata: toKeyMetadata(replica),
    ReplicaPolicy: policy,
    // Absent, not empty, when no tags were given (LocalStack's AWS-validated test_replicate_key).
    ...(tags.length > 0 ? { ReplicaTags: tags.map((t) => ({ ...t })) } : {}),
  }
}
