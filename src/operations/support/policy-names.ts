import { NotFoundException } from '../../domain/errors/exceptions.js'
import type { KeyRecord } from '../../domain/key.js'

/** A KMS key has exactly one key policy, named `default` (API Reference, GetKeyPolicy). */
export const DEFAULT_POLICY_NAME = 'default'

/**
 * Refuses any PolicyName but `default`. The model declares no exception for a bad policy
 * name; a name other than `default` names a policy that does not exist, so the answer is the
 * NotFoundException every policy operation models (LocalStack answers GetKeyPolicy the same).
 *
 * @example
 *   assertPolicyName(key, input.PolicyName) // passes for undefined and 'default'
 */
export function assertPolicyName(key: KeyRecord, policyName: string | undefined): void {
  if (policyName !== undefined && policyName !== DEFAULT_POLICY_NAME) {
    throw new NotFoundException(
      `No key policy named ${policyName} exists for ${key.arn}; the only key policy name is ${DEFAULT_POLICY_NAME}.`,
    )
  }
}
