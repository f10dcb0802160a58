/**
 * AccessDeniedException messages, in AWS's format (IAM User Guide, "Troubleshoot access denied
 * error messages"; texts recorded from KMS in kms-authz.md §8):
 *
 *   User: <principal ARN> is not authorized to perform: kms:<Op> on resource: <ARN> because no
 *   <type> policy allows the kms:<Op> action
 *   User: <principal ARN> is not authorized to perform: kms:<Op> on resource: <ARN> with an
 *   explicit deny in a <type> policy
 */
import type { Decision, DeniedPolicyType } from './evaluate.js'

/** What the message names. */
export interface AccessDeniedInput {
  /** The caller's ARN as authenticated (the session ARN for an assumed role). */
  readonly principalArn: string
  /** `kms:<Action>`, with AWS's spelling of the action. */
  readonly action: string
  /** The key ARN, alias ARN, or `*`. */
  readonly resource: string
}

/**
 * The message for an explicit deny in a policy of the given type.
 *
 * @example
 *   explicitDenyMessage({ principalArn, action: 'kms:Decrypt', resource: keyArn }, 'resource-based')
 */
export function explicitDenyMessage(input: AccessDeniedInput, type: DeniedPolicyType): string {
  // "in an identity-based policy", "in a resource-based policy" (IAM User Guide examples).
  const article = /^[aeiou]/.test(type) ? 'an' : 'a'
  return `${head(input)} with an explicit deny in ${article} ${type} policy`
}

/**
 * The message for an implicit deny: no policy of the given type allows the action.
 *
 * @example
 *   implicitDenyMessage({ principalArn, action: 'kms:Decrypt', resource: keyArn }, 'identity-based')
 *   // '… because no identity-based policy allows the kms:Decrypt action'
 */
export function implicitDenyMessage(input: AccessDeniedInput, type: DeniedPolicyType): string {
  return `${head(input)} because no ${type} policy allows the ${input.action} action`
}

/**
 * The message for a denied {@link Decision}. Which type KMS names when the key policy delegates
 * and no IAM policy allows is not documented; Keyward names `identity-based` then, and
 * `resource-based` when the key policy neither names nor delegates to the caller (§8).
 *
 * @example
 *   if (!decision.allowed) throw new AccessDeniedException(accessDeniedMessage(input, decision))
 */
export function accessDeniedMessage(input: AccessDeniedInput, decision: Decision): string {
  const type = decision.policyType ?? 'resource-based'
  return decision.reason === 'explicit-deny'
    ? explicitDenyMessage(input, type)
    : implicitDenyMessage(input, type)
}

const head = (input: AccessDeniedInput) =>
  `User: ${input.principalArn} is not authorized to perform: ${input.action} on resource: ${input.resource}`
