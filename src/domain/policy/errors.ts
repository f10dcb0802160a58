/**
 * The one error the policy parser throws. It names the AWS exception the wire layer must send
 * and carries AWS's message text, so this module stays free of the wire layer's generated
 * exception classes (the domain core imports nothing from src/wire).
 */

/** The AWS exceptions a rejected policy document maps to (API Reference, PutKeyPolicy). */
export type PolicyErrorName = 'MalformedPolicyDocumentException' | 'LimitExceededException'

/**
 * A policy document that AWS would refuse. `exception` is the AWS exception name to send,
 * `message` its text.
 *
 * @example
 *   try { parsePolicy(text, { kind: 'key' }) } catch (e) {
 *     if (e instanceof PolicyDocumentError) throw toWire(e.exception, e.message)
 *   }
 */
export class PolicyDocumentError extends Error {
  override readonly name = 'PolicyDocumentError'
  readonly exception: PolicyErrorName

  constructor(message: string, options: { exception?: PolicyErrorName } = {}) {
    super(message)
    this.exception = options.exception ?? 'MalformedPolicyDocumentException'
  }
}

/**
 * Message texts. The first four were recorded from real AWS answers (kms-authz.md §7.2, §5);
 * the others are Keyward's, because AWS's texts for those cases are not recorded: they keep the
 * wording the server already used before this module existed.
 */
export const POLICY_MESSAGES = {
  /** Recorded: CloudTrail errorMessage of a failed PutKeyPolicy (kms-authz.md §7.1). */
  lockout: 'The new key policy will not allow you to update the key policy in the future.',
  /** Recorded: CreateKey/PutKeyPolicy with an unknown or malformed principal (§7.2). */
  invalidPrincipals: 'Policy contains a statement with one or more invalid principals.',
  /** Recorded (2022): an IAM-only condition key in a key policy (§5). */
  iamOnlyConditionKeys:
    'These condition keys are not permitted in a key policy: aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases',
  /** Documented (Developer Guide, "kms:EncryptionContext:context-key"), §7.2. */
  overlyPermissive: (what: 'encryption context' | 'tag') =>
    `OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified ${what} or with an unspecified ${what}. To fix, remove ForAllValues.`,
  tooLarge: (max: number, kind: 'key' | 'identity') =>
    `The ${kind === 'key' ? 'key policy' : 'policy document'} exceeds the maximum size of ${max} bytes.`,
  notJson: 'The policy document is not valid JSON.',
  notObject: 'The policy document must be a JSON object.',
  tooDeep: 'The policy document is nested too deeply.',
  duplicateMember: (name: string) => `The policy document repeats the member '${name}'.`,
  unknownMember: (name: string) => `The policy document has an unknown member '${name}'.`,
  version: (v: string) => `Unsupported policy version: ${v}`,
  id: 'The policy Id must be a string.',
  noStatement: 'The policy document has no Statement.',
  statement: (n: number, why: string) => `Statement ${n}: ${why}`,
} as const
