/**
 * The authenticated caller as the policy evaluator sees it: its principal (type, ARN, account,
 * tags) and its compiled identity and session policies (kms-authz.md §3 steps 1-2). Pure, and
 * memoized per policy document object so that the hot path never parses a policy again.
 */
import type { Caller } from './caller.js'
import { parsePolicy, type CallerPrincipal, type CompiledPolicy } from './policy/index.js'

/**
 * What authorization reads from a {@link Caller}: the optional members the principals file and
 * STS give it (issue 12). `identityPolicies` undefined means a user written before identity
 * policies existed: an administrator (`Action` `*` on `Resource` `*`), as the issue decides.
 */
export type PolicyCaller = Caller

/** The policies a caller holds, compiled. */
export interface CallerPolicies {
  readonly identityPolicies: readonly CompiledPolicy[]
  readonly sessionPolicy?: CompiledPolicy
}

/** IAM's AdministratorAccess in effect: what a pre-existing user holds (issue 12). */
const ADMINISTRATOR: CallerPolicies = {
  identityPolicies: [
    parsePolicy(
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      { kind: 'identity' },
    ),
  ],
}

/** Compiled policies by the document list (or session policy) object they came from. */
const compiledLists = new WeakMap<object, readonly CompiledPolicy[]>()
const compiledSessions = new WeakMap<object, CompiledPolicy>()

const typeOf = (caller: PolicyCaller): CallerPrincipal['type'] => {
  if (caller.principalType) return caller.principalType
  if (/^arn:[^:]+:iam::\d{12}:root$/.test(caller.arn)) return 'root'
  if (/^arn:[^:]+:sts::\d{12}:assumed-role\//.test(caller.arn)) return 'assumed-role'
  if (/^arn:[^:]+:iam::\d{12}:role\//.test(caller.arn)) return 'role'
  return 'user'
}

/** The user name of a user ARN, its last path segment (IAM: `aws:username`). */
const userNameOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1)

/**
 * The caller as a policy principal: its type, ARN, account, role (for sessions), user name,
 * unique ID and tags, the sources of `aws:Principal*` and `aws:username`.
 *
 * @example
 *   callerPrincipal({ accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/alice' })
 *   // { type: 'user', arn, account: '111122223333', username: 'alice' }
 */
export function callerPrincipal(caller: PolicyCaller): CallerPrincipal {
  const type = typeOf(caller)
  return {
    type,
    arn: caller.arn,
    account: caller.accountId,
    ...(caller.roleArn !== undefined ? { roleArn: caller.roleArn } : {}),
    ...(type === 'user' ? { username: caller.userName ?? userNameOf(caller.arn) } : {}),
    ...(caller.userId !== undefined ? { userid: caller.userId } : {}),
    ...(caller.tags !== undefined ? { tags: caller.tags } : {}),
  }
}

/**
 * The caller's identity policies and session policy, compiled once per document list. A user
 * without the `policies` member (undefined) is an administrator; `[]` holds no policy at all.
 *
 * @throws PolicyDocumentError when a document is not a valid identity policy (the principals
 *   file is validated at start, so this means a policy the file validator let through; the
 *   caller of this function refuses the request rather than ignore a policy that may deny)
 * @example
 *   const { identityPolicies, sessionPolicy } = callerPolicies(caller)
 */
export function callerPolicies(caller: PolicyCaller): CallerPolicies {
  const documents = caller.identityPolicies
  if (documents === undefined && caller.sessionPolicy === undefined) return ADMINISTRATOR
  const identityPolicies =
    documents === undefined ? ADMINISTRATOR.identityPolicies : compiledList(documents)
  const sessionPolicy = compiledSession(caller.sessionPolicy)
  return { identityPolicies, ...(sessionPolicy ? { sessionPolicy } : {}) }
}

function compiledList(documents: readonly unknown[]): readonly CompiledPolicy[] {
  const hit = compiledLists.get(documents)
  if (hit) return hit
  const compiled = documents.map((d) => parsePolicy(d as object, { kind: 'identity' }))
  compiledLists.set(documents, compiled)
  return compiled
}

function compiledSession(document: unknown): CompiledPolicy | undefined {
  if (document === undefined || document === null) return undefined
  const key = document as object
  const hit = compiledSessions.get(key)
  if (hit) return hit
  const compiled = parsePolicy(typeof document === 'string' ? document : key, {
    kind: 'identity',
  })
  if (typeof document === 'object') compiledSessions.set(key, compiled)
  return compiled
}
