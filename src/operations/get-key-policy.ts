import type { Handler } from './context.js'
import { assertPolicyName, DEFAULT_POLICY_NAME } from './support/policy-names.js'

/**
 * GetKeyPolicy: the key policy document as stored, in every key state; PolicyName is
 * optional and can only be `default` (API Reference, GetKeyPolicy).
 */
export const getKeyPolicy: Handler<'GetKeyPolicy'> = async (ctx, input) => {
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  assertPolicyName(key, input.PolicyName)
  return { Policy: key.policy, PolicyName: DEFAULT_POLICY_NAME }
}
