/**
 * The default key policy and the policy lockout safety check (Developer Guide, "Default key
 * policy"; API Reference, PutKeyPolicy and CreateKey, BypassPolicyLockoutSafetyCheck;
 * kms-authz.md §1.3, §7.1).
 */
import type { CompiledPolicy } from './document.js'
import { POLICY_MESSAGES, PolicyDocumentError } from './errors.js'
import { evaluate, type AuthorizationRequest } from './evaluate.js'

/**
 * The key policy AWS attaches when CreateKey or ReplicateKey has no Policy: the account
 * principal may do everything, which delegates access to IAM. Byte for byte what GetKeyPolicy
 * returns for it (recorded: Sid "Enable IAM User Permissions", Id "key-default-1").
 *
 * @example
 *   parsePolicy(defaultKeyPolicy('111122223333'), { kind: 'key' })
 */
export function defaultKeyPolicy(accountId: string): string {
  return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${accountId}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

/** The request fields the lockout check needs: who calls, and on which key. */
export type LockoutCheckInput = Pick<
  AuthorizationRequest,
  'principal' | 'resource' | 'keyAccount' | 'identityPolicies' | 'sessionPolicy' | 'conditions'
>

/**
 * True when `newPolicy`, together with the caller's own identity policies, would let the caller
 * send PutKeyPolicy for the key later. AWS runs this on CreateKey (with a Policy), PutKeyPolicy
 * and ReplicateKey unless BypassPolicyLockoutSafetyCheck is true; a policy that only delegates
 * to the account fails when the caller's IAM policies do not allow kms:PutKeyPolicy (§7.1).
 * Grants never give PutKeyPolicy, so none are considered.
 *
 * @example
 *   allowsFuturePutKeyPolicy(parsePolicy(text, { kind: 'key' }), { principal, resource: keyArn, keyAccount })
 */
export function allowsFuturePutKeyPolicy(
  newPolicy: CompiledPolicy,
  input: LockoutCheckInput,
): boolean {
  // The future request is a plain PutKeyPolicy: it carries no bypass flag.
  const conditions = Object.fromEntries(
    Object.entries(input.conditions ?? {}).filter(
      ([k]) => k.toLowerCase() !== 'kms:bypasspolicylockoutsafetycheck',
    ),
  )
  return evaluate({ ...input, conditions, action: 'kms:PutKeyPolicy', keyPolicy: newPolicy })
    .allowed
}

/**
 * Throws AWS's lockout error unless {@link allowsFuturePutKeyPolicy}, or the request set
 * BypassPolicyLockoutSafetyCheck.
 *
 * @throws PolicyDocumentError `The new key policy will not allow you to update the key policy in the future.`
 * @example
 *   assertNoLockout(policy, { principal, resource: keyArn, keyAccount, bypass: input.BypassPolicyLockoutSafetyCheck === true })
 */
export function assertNoLockout(
  newPolicy: CompiledPolicy,
  input: LockoutCheckInput & { readonly bypass?: boolean },
): void {
  if (input.bypass === true) return
  if (!allowsFuturePutKeyPolicy(newPolicy, input)) {
    throw new PolicyDocumentError(POLICY_MESSAGES.lockout)
  }
}
