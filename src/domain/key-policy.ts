import { LimitExceededException, MalformedPolicyDocumentException } from './errors/exceptions.js'

/** The key policy document quota: 32 KB, not adjustable (Developer Guide, "Resource quotas"). */
export const MAX_POLICY_BYTES = 32_768

/**
 * The default key policy AWS attaches when CreateKey has no Policy (Developer Guide, "Default
 * key policy"): the account's root principal may do everything, which delegates access to IAM.
 * Formatted the way GetKeyPolicy returns it.
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

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v])
const isStringOrStrings = (v: unknown) =>
  typeof v === 'string' ||
  (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string'))

/**
 * Checks that `policy` is a key policy AWS would accept in form: JSON, within the size quota,
 * with a Statement list whose entries have Effect Allow|Deny, a Principal, and Action or
 * NotAction (IAM User Guide, "IAM JSON policy elements reference").
 *
 * @throws LimitExceededException when over 32 KB; MalformedPolicyDocumentException otherwise
 */
export function assertValidKeyPolicy(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > MAX_POLICY_BYTES) {
    throw new LimitExceededException(
      `The key policy exceeds the maximum size of ${MAX_POLICY_BYTES} bytes.`,
    )
  }
  let doc: unknown
  try {
    doc = JSON.parse(policy)
  } catch {
    throw new MalformedPolicyDocumentException('The policy document is not valid JSON.')
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new MalformedPolicyDocumentException('The policy document must be a JSON object.')
  }
  const { Version, Statement } = doc as Record<string, unknown>
  if (Version !== undefined && Version !== '2012-10-17' && Version !== '2008-10-17') {
    throw new MalformedPolicyDocumentException(`Unsupported policy version: ${String(Version)}`)
  }
  const statements = asArray(Statement)
  if (statements.length === 0) {
    throw new MalformedPolicyDocumentException('The policy document has no Statement.')
  }
  statements.forEach((s, i) => assertStatement(s, i + 1))
}

function assertStatement(s: unknown, n: number): void {
  const fail = (why: string) => {
    throw new MalformedPolicyDocumentException(`Statement ${n}: ${why}`)
  }
  if (!s || typeof s !== 'object' || Array.isArray(s)) return fail('must be a JSON object.')
  const st = s as Record<string, unknown>
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') fail("Effect must be 'Allow' or 'Deny'.")
  if (st.Principal === undefined && st.NotPrincipal === undefined) {
    fail('a key policy statement must have a Principal.')
  }
  if (!isStringOrStrings(st.Action) && !isStringOrStrings(st.NotAction)) {
    fail('must have an Action or NotAction (a string or a list of strings).')
  }
}
