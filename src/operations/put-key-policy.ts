import { assertValidKeyPolicy } from '../domain/key-policy.js'
import type { Handler } from './context.js'
import { assertPolicyName } from './support/policy-names.js'

/**
 * PutKeyPolicy: replaces the key policy after checking its form and size (32 KB quota;
 * src/domain/key-policy.ts). Allowed in every key state (Developer Guide, "Key states").
 *
 * Not yet done, and written down in the README: the policy lockout safety check (and so the
 * meaning of BypassPolicyLockoutSafetyCheck) needs the policy evaluator. Key policies are not
 * enforced yet, so no policy can lock a caller out; the flag is accepted and has no effect.
 */
export const putKeyPolicy: Handler<'PutKeyPolicy'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  assertPolicyName(key, input.PolicyName)
  assertValidKeyPolicy(input.Policy)
  await ctx.keys.mutate(key, (current) =>
    current.policy === input.Policy ? current : { ...current, policy: input.Policy },
  )
  return {}
}
