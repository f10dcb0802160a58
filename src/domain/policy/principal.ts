/**
 * Principals: who a key policy statement names, and who is calling (IAM User Guide, "AWS JSON
 * policy elements: Principal"; kms-authz.md §1.1, §3.1).
 */
import { POLICY_MESSAGES, PolicyDocumentError } from './errors.js'
import type { JsonValue } from './json.js'

/** The kinds of identity that can call Keyward. */
export type PrincipalType = 'root' | 'user' | 'role' | 'assumed-role'

/**
 * The authenticated caller of a request.
 *
 * @example
 *   const alice: CallerPrincipal = { type: 'user', account: '111122223333',
 *     arn: 'arn:aws:iam::111122223333:user/Alice', username: 'Alice' }
 */
export interface CallerPrincipal {
  readonly type: PrincipalType
  /** `…:root`, `…:user/<path>name`, `…:role/<path>name`, or `arn:aws:sts::…:assumed-role/<role>/<session>` */
  readonly arn: string
  readonly account: string
  /** For an assumed-role session: the role's IAM ARN, with its path (the session ARN has none). */
  readonly roleArn?: string
  /** IAM user name; the value of `aws:username` (users only). */
  readonly username?: string
  /** Unique ID (`AIDA…`, or `AROA…:<session>` for sessions); the value of `aws:userid`. */
  readonly userid?: string
  /** Tags of the user or role, plus session tags (session tags win); `aws:PrincipalTag/<k>`. */
  readonly tags?: Readonly<Record<string, string>>
}

/** The principals one statement names. Account principals are kept by account ID. */
export interface PrincipalSet {
  readonly any: boolean
  readonly accounts: ReadonlySet<string>
  /** Exact user, role, assumed-role session and federated-user ARNs. */
  readonly arns: ReadonlySet<string>
  readonly services: ReadonlySet<string>
  /** Every ARN written (account IDs as root ARNs), for existence checks by the caller. */
  readonly named: readonly string[]
}

const PARTITION = 'aws(?:-cn|-us-gov)?'
const NAME = '[\\w+=,.@-]+'
const ACCOUNT_ID = /^\d{12}$/
const ROOT = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):root$`)
const IAM_ENTITY = new RegExp(`^arn:${PARTITION}:iam::\\d{12}:(?:user|role)/(?:${NAME}/)*${NAME}$`)
const STS_ENTITY = new RegExp(
  `^arn:${PARTITION}:sts::\\d{12}:(?:assumed-role/${NAME}/${NAME}|federated-user/${NAME})$`,
)
const SERVICE = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$/
const CANONICAL_USER = /^[0-9a-f]{64}$/

const invalid = (): never => {
  throw new PolicyDocumentError(POLICY_MESSAGES.invalidPrincipals)
}

const strings = (v: JsonValue): string[] => {
  const list = Array.isArray(v) ? v : [v]
  if (list.length === 0 || !list.every((s) => typeof s === 'string')) return invalid()
  return list as string[]
}

/**
 * Compiles a Principal or NotPrincipal element. `*` cannot stand for part of an ARN, IAM groups
 * are not principals (Developer Guide, "Key policies"), and `exists`, when given, must know
 * every named user and role (AWS checks that principals exist when a policy is set).
 *
 * @throws PolicyDocumentError `Policy contains a statement with one or more invalid principals.`
 * @example
 *   compilePrincipal({ AWS: '111122223333' }) // accounts: {'111122223333'}
 */
export function compilePrincipal(
  element: JsonValue,
  options: { exists?: (arn: string) => boolean } = {},
): PrincipalSet {
  if (element === '*') {
    return { any: true, accounts: new Set(), arns: new Set(), services: new Set(), named: [] }
  }
  if (typeof element !== 'object' || element === null || Array.isArray(element)) return invalid()
  const entries = Object.entries(element)
  if (entries.length === 0) return invalid()
  let any = false
  const accounts = new Set<string>()
  const arns = new Set<string>()
  const services = new Set<string>()
  const named: string[] = []
  for (const [type, value] of entries) {
    for (const p of strings(value)) {
      if (type === 'AWS') {
        if (p === '*') any = true
        else if (ACCOUNT_ID.test(p)) {
          accounts.add(p)
          named.push(`arn:aws:iam::${p}:root`)
        } else if (ROOT.test(p)) {
          accounts.add(ROOT.exec(p)![1]!)
          named.push(p)
        } else if (IAM_ENTITY.test(p) || STS_ENTITY.test(p)) {
          arns.add(p)
          named.push(p)
        } else invalid()
      } else if (type === 'Service') {
        if (!SERVICE.test(p)) invalid()
        services.add(p)
      } else if (type === 'Federated') {
        // Keyward has no identity federation: a federated principal is well-formed but never
        // matches a caller.
        if (p.length === 0 || p.includes('*')) invalid()
      } else if (type === 'CanonicalUser') {
        if (!CANONICAL_USER.test(p)) invalid()
      } else invalid()
    }
  }
  if (options.exists) {
    for (const arn of named) if (!options.exists(arn)) invalid()
  }
  return { any, accounts, arns, services, named }
}

/**
 * How a statement's principals name the caller: `direct` (the caller itself, its role, `*`, or
 * the account principal when the caller is the account's root user), `account` (the caller's
 * account principal: delegation to IAM), or undefined. `exact` is set when the caller's own
 * session ARN is named (session policies do not limit such statements).
 *
 * @example
 *   principalMatch(set, alice) // 'account' when the policy names arn:aws:iam::<alice's account>:root
 */
export function principalMatch(
  set: PrincipalSet,
  caller: CallerPrincipal,
): 'direct' | 'exact' | 'account' | undefined {
  if (caller.type === 'assumed-role' && set.arns.has(caller.arn)) return 'exact'
  if (set.any) return 'direct'
  if (set.arns.has(caller.arn)) return 'direct'
  if (caller.roleArn !== undefined && set.arns.has(caller.roleArn)) return 'direct'
  if (set.accounts.has(caller.account)) return caller.type === 'root' ? 'direct' : 'account'
  return undefined
}

/**
 * For each identity of the caller, whether `set` lists it: the account, the caller's own ARN,
 * and the role of a session (IAM User Guide, "NotPrincipal": a session is left out only when
 * its account, role and session are all listed).
 */
function listedIdentities(set: PrincipalSet, caller: CallerPrincipal): boolean[] {
  const out = [set.accounts.has(caller.account)]
  if (caller.type !== 'root') out.push(set.arns.has(caller.arn))
  if (caller.roleArn !== undefined) out.push(set.arns.has(caller.roleArn))
  return out
}

/**
 * Whether a NotPrincipal statement applies to the caller. For Deny it leaves the caller out only
 * when every identity of the caller is listed (IAM's documented rule); for Allow it leaves the
 * caller out when any identity is listed. Both choices make the statement refuse more (KMS does
 * not document NotPrincipal in key policies, kms-authz.md §3.1).
 */
export function notPrincipalApplies(
  set: PrincipalSet,
  caller: CallerPrincipal,
  effect: 'Allow' | 'Deny',
): boolean {
  if (set.any) return false
  const listed = listedIdentities(set, caller)
  const excluded = effect === 'Deny' ? listed.every(Boolean) : listed.some(Boolean)
  return !excluded
}
