import type { Handler } from './context.js'
import { assertAcceptableKeyPolicy } from './support/key-policies.js'
import { assertPolicyName } from './support/policy-names.js'

/**
 * PutKeyPolicy: replaces the key policy after checking its grammar, its size (32 KB quota) and,
 * unless BypassPolicyLockoutSafetyCheck is true, that it does not lock the caller out of the
 * key (support/key-policies.ts). Allowed in every key state (Developer Guide, "Key states").
 * The new policy decides the next call at once: the authorizer compiles a policy per text.
 */
export const putKeyPolicy: Handler<'PutKeyPolicy'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  assertPolicyName(key, input.PolicyName)
  assertAcceptableKeyPolicy(ctx, {
    policy: input.Policy,
    keyArn: key.arn,
    bypass: input.BypassPolicyLockoutSafetyCheck,
  })
  await ctx.keys.mutate(key, (current) =>
    current.policy === input.Policy ? current : { ...current, policy: input.Policy },
  )
  return {}
}
