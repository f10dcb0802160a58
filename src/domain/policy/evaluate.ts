/**
 * The authorization decision for one permission check (kms-authz.md §3; IAM User Guide, "Policy
 * evaluation logic" and "Cross-account policy evaluation logic"; Developer Guide, "Determining
 * access to an AWS KMS key"). Pure: the caller passes every policy and grant that may apply.
 *
 * Order: an explicit Deny in any policy wins. Actions with no key resource are decided by the
 * caller's identity policies. On a key, the key policy must allow the caller itself, or allow
 * the caller's account (delegation) while an identity policy allows too; callers of another
 * account always need both, and only for cross-account actions. A grant for the caller allows
 * its operations. Everything else is an implicit deny.
 */
import { conditionsHold, resolverOf, segmentsMatch, type ConditionValues } from './conditions.js'
import type { CompiledPolicy, CompiledStatement, ResourcePattern } from './document.js'
import { globMatch, type WorkCounter } from './glob.js'
import { notPrincipalApplies, principalMatch, type CallerPrincipal } from './principal.js'
import { CROSS_ACCOUNT_ACTIONS, IAM_ONLY_ACTIONS } from './tables.js'
import { templateGlob } from './variables.js'

/** An encryption context: string keys to string values. */
export type EncryptionContextMap = Readonly<Record<string, string>>

/** Grant constraints, as CreateGrant takes them (API Reference, GrantConstraints). */
export interface GrantConstraintsInput {
  readonly EncryptionContextEquals?: EncryptionContextMap
  readonly EncryptionContextSubset?: EncryptionContextMap
}

/** A grant on the requested key (or named by a grant token of the request). */
export interface GrantInput {
  readonly grantId?: string
  /** GranteePrincipal: an account root, user, role or assumed-role session ARN. */
  readonly grantee: string
  /** GrantOperation names, e.g. `Decrypt`, `ReEncryptFrom`. */
  readonly operations: readonly string[]
  readonly constraints?: GrantConstraintsInput
}

/** A condition value as the request supplies it; multi-valued keys take lists. */
export type ConditionInput = string | number | boolean | readonly string[]

/** Everything a decision depends on. */
export interface AuthorizationRequest {
  readonly principal: CallerPrincipal
  /** `kms:<Action>`, e.g. `kms:Encrypt`, `kms:ReEncryptFrom`. */
  readonly action: string
  /** The key ARN, an alias ARN (alias permissions), or `*` for operations without a resource. */
  readonly resource: string
  /** Account of the key; required when `resource` is a key ARN. */
  readonly keyAccount?: string
  /**
   * Condition keys of the request (any case); principal keys are derived from `principal`. A
   * function is called at most once, and only when a statement that could apply has a
   * condition or a policy variable: most calls (an administrator, a policy without conditions)
   * never need them, and building them is a third of an evaluation.
   */
  readonly conditions?:
    Readonly<Record<string, ConditionInput>> | (() => Readonly<Record<string, ConditionInput>>)
  /** The request's encryption context, for grant constraints (case-sensitive). */
  readonly encryptionContext?: EncryptionContextMap
  /** The key's policy; required when `resource` is a key. */
  readonly keyPolicy?: CompiledPolicy
  /** The caller's identity policies: the user's and its groups', or the role's. */
  readonly identityPolicies?: readonly CompiledPolicy[]
  /** The session policy of an assumed-role session, which can only narrow. */
  readonly sessionPolicy?: CompiledPolicy
  /** Grants on the key (and those named by the request's grant tokens). */
  readonly grants?: readonly GrantInput[]
  /** For CreateGrant: the grant being asked for, to check a grant-based permission (§6.5). */
  readonly createGrant?: {
    readonly operations: readonly string[]
    readonly constraints?: GrantConstraintsInput
  }
}

/** Which policy a statement came from. */
export type PolicySource = 'key' | 'identity' | 'session'

/** A statement that decided, for logs and tests. */
export interface MatchedStatement {
  readonly policy: PolicySource
  /** Index of the policy in `identityPolicies` (0 for the key and session policies). */
  readonly policyIndex: number
  readonly statement: number
  readonly sid?: string
  readonly effect: 'Allow' | 'Deny'
}

/** Why a request was allowed or denied. */
export type DecisionReason =
  | 'explicit-deny'
  | 'no-allow'
  | 'not-cross-account'
  | 'key-policy'
  | 'key-policy-and-identity'
  | 'identity'
  | 'grant'

/** The policy type AWS names in AccessDeniedException (IAM User Guide, "Troubleshoot access denied"). */
export type DeniedPolicyType = 'resource-based' | 'identity-based' | 'session'

/** The outcome of {@link evaluate}. */
export interface Decision {
  readonly allowed: boolean
  readonly reason: DecisionReason
  /** On a denial: the kind of policy to name in the message. */
  readonly policyType?: DeniedPolicyType
  readonly statements: readonly MatchedStatement[]
  readonly grantId?: string
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Counts wildcard-matching steps (tests of bounded work). */
  readonly counter?: WorkCounter
}

const PRINCIPAL_TYPE: Record<CallerPrincipal['type'], string> = {
  root: 'Account',
  user: 'User',
  role: 'AssumedRole',
  'assumed-role': 'AssumedRole',
}

/**
 * The request's condition values: the supplied ones (names lower-cased), plus those that follow
 * from the principal (IAM User Guide, "AWS global condition context keys"), which the request
 * cannot override.
 *
 * @example
 *   conditionValues({ principal: alice, action: 'kms:Encrypt', resource: keyArn })
 */
export function conditionValues(request: AuthorizationRequest): ConditionValues {
  const out = new Map<string, readonly string[]>()
  const supplied =
    typeof request.conditions === 'function' ? request.conditions() : request.conditions
  for (const name in supplied) {
    const key = lowerCased(name)
    // Principal tags follow from the principal alone (set below); a request cannot add any.
    if (key.startsWith('aws:principaltag/')) continue
    const value = supplied[name]!
    const list: readonly string[] = Array.isArray(value) ? value : [String(value)]
    const prior = out.get(key)
    out.set(key, prior ? [...prior, ...list] : list)
  }
  const p = request.principal
  const set = (name: string, value: string | undefined) => {
    if (value === undefined) out.delete(name)
    else out.set(name, [value])
  }
  // For a session, aws:PrincipalArn is the role's ARN (IAM User Guide, aws:PrincipalArn).
  set('aws:principalarn', p.type === 'assumed-role' ? (p.roleArn ?? roleArnOf(p.arn)) : p.arn)
  set('aws:principalaccount', p.account)
  set('aws:principaltype', PRINCIPAL_TYPE[p.type])
  set('aws:username', p.type === 'user' ? p.username : undefined)
  set('aws:userid', p.userid)
  for (const k in p.tags) set(`aws:principaltag/${lowerCased(k)}`, p.tags[k])
  if (resourceKind(request) === 'key') set('kms:calleraccount', p.account)
  return out
}

/**
 * Condition key names are case-insensitive (IAM User Guide, "Condition element"); the same few
 * names come with every request, so their lower-case forms are kept (bounded: the cache starts
 * afresh when full, as encryption context keys are the caller's to choose).
 */
const LOWER = new Map<string, string>()
function lowerCased(name: string): string {
  let lower = LOWER.get(name)
  if (lower === undefined) {
    if (LOWER.size >= 4096) LOWER.clear()
    lower = name.toLowerCase()
    LOWER.set(name, lower)
  }
  return lower
}

/**
 * The condition keys an encryption context supplies (Developer Guide, "kms:EncryptionContext:
 * context-key" and "kms:EncryptionContextKeys"): one `kms:EncryptionContext:<k>` per pair and
 * the multi-valued `kms:EncryptionContextKeys`. An empty context supplies neither, so `Null`
 * and `ForAnyValue` see the keys as missing. For the operations that take a context only
 * (see CONDITION_KEYS).
 *
 * @example
 *   encryptionContextConditions({ AppName: 'ExampleApp' })
 *   // { 'kms:EncryptionContext:AppName': 'ExampleApp', 'kms:EncryptionContextKeys': ['AppName'] }
 */
export function encryptionContextConditions(
  context: EncryptionContextMap | undefined,
): Record<string, ConditionInput> {
  const keys = Object.keys(context ?? {})
  if (keys.length === 0) return {}
  const out: Record<string, ConditionInput> = { 'kms:EncryptionContextKeys': keys }
  for (const k of keys) out[`kms:EncryptionContext:${k}`] = context![k]!
  return out
}

/** `arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R` (without a path, which the session ARN lacks). */
function roleArnOf(sessionArn: string): string {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(sessionArn)
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : sessionArn
}

/** What the request is checked on. IAM-only actions never use the key policy. */
function resourceKind(request: AuthorizationRequest): 'key' | 'alias' | 'account' {
  if (request.resource === '*') return 'account'
  if (IAM_ONLY_ACTIONS.has(request.action.toLowerCase())) return 'account'
  if (/^arn:[^:]+:kms:[^:]*:\d{12}:alias\//.test(request.resource)) return 'alias'
  return 'key'
}

interface Ctx {
  readonly request: AuthorizationRequest
  readonly action: string
  /** The condition values, built on first use (see AuthorizationRequest.conditions). */
  readonly values: ConditionValues
  readonly counter?: WorkCounter
}

/**
 * The context of one decision; `values` are computed the first time a condition or variable
 * reads them. A class, not an object literal with a getter: V8 keeps such a literal in
 * dictionary mode, which made every other field read slow (measured: twice the evaluation time).
 */
class DecisionContext implements Ctx {
  readonly action: string
  #values: ConditionValues | undefined

  constructor(
    readonly request: AuthorizationRequest,
    readonly counter: WorkCounter | undefined,
  ) {
    this.action = request.action.toLowerCase()
  }

  get values(): ConditionValues {
    return (this.#values ??= conditionValues(this.request))
  }
}

/** True when the statement has no conditions or they all hold (values read only then). */
const statementConditionsHold = (s: CompiledStatement, ctx: Ctx): boolean =>
  s.conditions.length === 0 || conditionsHold(s.conditions, ctx.values, { counter: ctx.counter })

function actionMatches(s: CompiledStatement, ctx: Ctx): boolean {
  const hit = s.actions.some((g) => globMatch(g, ctx.action, { counter: ctx.counter }))
  return s.notAction ? !hit : hit
}

function resourceMatches(s: CompiledStatement, ctx: Ctx): boolean {
  const hit = s.resources.some((r) => patternMatches(r, ctx))
  return s.notResource ? !hit : hit
}

function patternMatches(r: ResourcePattern, ctx: Ctx): boolean {
  if (r.any) return true
  const glob = r.glob ?? templateGlob(r.template, resolverOf(ctx.values))
  // A Resource whose variable cannot be resolved matches nothing (IAM User Guide, variables).
  return (
    glob !== undefined &&
    segmentsMatch(glob, ctx.request.resource, { all: false, counter: ctx.counter })
  )
}

const matched = (
  policy: PolicySource,
  policyIndex: number,
  s: CompiledStatement,
): MatchedStatement => ({
  policy,
  policyIndex,
  statement: s.index,
  ...(s.sid !== undefined ? { sid: s.sid } : {}),
  effect: s.effect,
})

/** Statements of an identity or session policy that apply to the request. */
function applicable(
  policy: CompiledPolicy,
  ctx: Ctx,
): { allow: CompiledStatement[]; deny: CompiledStatement[] } {
  const allow: CompiledStatement[] = []
  const deny: CompiledStatement[] = []
  for (const s of policy.statements) {
    if (!actionMatches(s, ctx) || !resourceMatches(s, ctx)) continue
    if (!statementConditionsHold(s, ctx)) continue
    ;(s.effect === 'Allow' ? allow : deny).push(s)
  }
  return { allow, deny }
}

/** Key policy statements that apply, each with how its principal names the caller. */
function keyPolicyStatements(
  policy: CompiledPolicy,
  ctx: Ctx,
): {
  allow: Array<[CompiledStatement, 'direct' | 'exact' | 'account']>
  deny: CompiledStatement[]
} {
  const allow: Array<[CompiledStatement, 'direct' | 'exact' | 'account']> = []
  const deny: CompiledStatement[] = []
  const caller = ctx.request.principal
  for (const s of policy.statements) {
    const set = s.principal
    if (!set) continue
    let how: 'direct' | 'exact' | 'account' | undefined
    if (s.notPrincipal) how = notPrincipalApplies(set, caller, s.effect) ? 'direct' : undefined
    else how = principalMatch(set, caller)
    if (how === undefined || !actionMatches(s, ctx)) continue
    // Resource "*" in a key policy means this key (Developer Guide, "Key policies").
    if (!statementConditionsHold(s, ctx)) continue
    if (s.effect === 'Deny') deny.push(s)
    else allow.push([s, how])
  }
  return { allow, deny }
}

/**
 * Decides one permission check.
 *
 * @example
 *   evaluate({ principal: alice, action: 'kms:Encrypt', resource: keyArn, keyAccount: '111122223333',
 *     keyPolicy: parsePolicy(defaultKeyPolicy('111122223333'), { kind: 'key' }), identityPolicies: [] })
 *   // { allowed: false, reason: 'no-allow', policyType: 'identity-based', statements: [] }
 */
export function evaluate(request: AuthorizationRequest, options: EvaluateOptions = {}): Decision {
  const ctx = new DecisionContext(request, options.counter)
  const kind = resourceKind(request)
  const caller = request.principal

  const identity = (request.identityPolicies ?? []).map((p) => applicable(p, ctx))
  const session = request.sessionPolicy ? applicable(request.sessionPolicy, ctx) : undefined
  const key =
    kind === 'key' && request.keyPolicy
      ? keyPolicyStatements(request.keyPolicy, ctx)
      : { allow: [], deny: [] }

  // 1. An explicit deny in any policy wins (IAM evaluation logic; Developer Guide: an IAM Deny
  //    works even when the key policy does not delegate to IAM).
  const denyOf = (): Decision | undefined => {
    if (key.deny[0])
      return denied('explicit-deny', 'resource-based', [matched('key', 0, key.deny[0])])
    for (const [i, r] of identity.entries()) {
      if (r.deny[0])
        return denied('explicit-deny', 'identity-based', [matched('identity', i, r.deny[0])])
    }
    if (session?.deny[0])
      return denied('explicit-deny', 'session', [matched('session', 0, session.deny[0])])
    return undefined
  }
  const explicit = denyOf()
  if (explicit) return explicit

  // The caller's own permissions: identity policies, narrowed by a session policy. The root
  // user of an account holds every permission in it and has no identity policies.
  const identityAllow = identity.flatMap((r, i) => r.allow.map((s) => matched('identity', i, s)))
  const sessionAllow = session ? session.allow.map((s) => matched('session', 0, s)) : []
  const sessionOk = !session || sessionAllow.length > 0
  const iamAllows = caller.type === 'root' || (identityAllow.length > 0 && sessionOk)
  const iamStatements = [...identityAllow.slice(0, 1), ...sessionAllow.slice(0, 1)]

  // 2. Actions without a key resource: identity policies alone (kms-authz.md §3 step 4).
  if (kind !== 'key') {
    const foreignAlias = kind === 'alias' && accountOfArn(request.resource) !== caller.account
    if (iamAllows && !foreignAlias) return allowed('identity', iamStatements)
    return denied(
      'no-allow',
      identityAllow.length > 0 && !sessionOk ? 'session' : 'identity-based',
      [],
    )
  }

  const sameAccount = request.keyAccount === caller.account
  const direct = key.allow.find(([, how]) => how === 'exact' || (how === 'direct' && sessionOk))
  const any = key.allow[0]
  const grant = grantAllowing(request)

  if (sameAccount) {
    // 3a. The key policy names the caller itself (or the account, for its root user).
    if (direct) return allowed('key-policy', [matched('key', 0, direct[0])])
    // 3b. The key policy delegates to the account, and an identity policy allows.
    const delegation = key.allow.find(([, how]) => how === 'account')
    if (delegation && iamAllows) {
      return allowed('key-policy-and-identity', [
        matched('key', 0, delegation[0]),
        ...iamStatements,
      ])
    }
    if (grant) return allowed('grant', [], grant.grantId)
    if (delegation)
      return denied(
        'no-allow',
        !sessionOk && identityAllow.length > 0 ? 'session' : 'identity-based',
        [],
      )
    return denied('no-allow', any && !sessionOk ? 'session' : 'resource-based', [])
  }

  // 4. Another account's key: only cross-account actions, and both the key policy and the
  //    caller's identity policy must allow (Developer Guide, "Allowing users in other accounts
  //    to use a KMS key"); or a grant to the caller.
  if (!CROSS_ACCOUNT_ACTIONS.has(ctx.action))
    return denied('not-cross-account', 'resource-based', [])
  if (any && iamAllows)
    return allowed('key-policy-and-identity', [matched('key', 0, any[0]), ...iamStatements])
  if (grant) return allowed('grant', [], grant.grantId)
  return denied(
    'no-allow',
    any
      ? !sessionOk && identityAllow.length > 0
        ? 'session'
        : 'identity-based'
      : 'resource-based',
    [],
  )
}

const allowed = (
  reason: DecisionReason,
  statements: MatchedStatement[],
  grantId?: string,
): Decision => ({
  allowed: true,
  reason,
  statements,
  ...(grantId !== undefined ? { grantId } : {}),
})

const denied = (
  reason: DecisionReason,
  policyType: DeniedPolicyType,
  statements: MatchedStatement[],
): Decision => ({ allowed: false, reason, policyType, statements })

function accountOfArn(arn: string): string | undefined {
  return arn.split(':')[4]
}

/**
 * True when `grantee` names the caller: its own ARN, the role of a session, or the account
 * principal when the caller is that account's root user. Whether an account grantee also
 * covers the account's IAM principals is undocumented (kms-authz.md §11); it does not here.
 */
export function granteeMatches(grantee: string, caller: CallerPrincipal): boolean {
  if (grantee === caller.arn) return true
  if (caller.type === 'assumed-role' && grantee === (caller.roleArn ?? roleArnOf(caller.arn)))
    return true
  if (caller.type === 'role' && grantee === caller.arn) return true
  return (
    caller.type === 'root' &&
    (grantee === caller.account || grantee === `arn:aws:iam::${caller.account}:root`)
  )
}

/** The first grant that allows the request (kms-authz.md §6.4), if any. */
function grantAllowing(request: AuthorizationRequest): GrantInput | undefined {
  const operation = request.action.replace(/^kms:/i, '')
  return (request.grants ?? []).find(
    (g) =>
      granteeMatches(g.grantee, request.principal) &&
      g.operations.includes(operation) &&
      grantConstraintsAllow(g, operation, request),
  )
}

function grantConstraintsAllow(
  grant: GrantInput,
  operation: string,
  request: AuthorizationRequest,
): boolean {
  // CreateGrant through a grant: the child may only narrow the parent (§6.5).
  if (operation === 'CreateGrant') {
    return request.createGrant !== undefined && childGrantAllowed(grant, request.createGrant)
  }
  // Context constraints do not apply to DescribeKey and RetireGrant (Developer Guide,
  // "Grant constraints").
  if (operation === 'DescribeKey' || operation === 'RetireGrant') return true
  return encryptionContextAllowed(grant.constraints, request.encryptionContext ?? {})
}

/**
 * Grant constraints against a request's encryption context: EncryptionContextEquals needs the
 * same pairs exactly; EncryptionContextSubset needs every constraint pair, extra pairs allowed.
 * Keys and values are case-sensitive (Developer Guide, "Using grant constraints").
 *
 * @example
 *   encryptionContextAllowed({ EncryptionContextSubset: { Department: 'IT' } }, { Department: 'IT', Purpose: 'Test' }) // true
 */
export function encryptionContextAllowed(
  constraints: GrantConstraintsInput | undefined,
  context: EncryptionContextMap,
): boolean {
  const equals = constraints?.EncryptionContextEquals
  const subset = constraints?.EncryptionContextSubset
  if (equals && !sameContext(equals, context)) return false
  if (subset && !containsContext(context, subset)) return false
  return true
}

const containsContext = (outer: EncryptionContextMap, inner: EncryptionContextMap): boolean =>
  Object.entries(inner).every(([k, v]) => Object.hasOwn(outer, k) && outer[k] === v)

const sameContext = (a: EncryptionContextMap, b: EncryptionContextMap): boolean =>
  Object.keys(a).length === Object.keys(b).length && containsContext(a, b)

/**
 * Whether a principal whose CreateGrant permission comes from `parent` may create `child`: its
 * operations a subset of the parent's, its constraints at least as strict (a Subset may gain
 * pairs or become Equals; Equals stays Equals with the same pairs) (Developer Guide, "Creating
 * grants").
 *
 * @example
 *   childGrantAllowed(parent, { operations: ['Decrypt'], constraints: { EncryptionContextEquals: { Department: 'IT' } } })
 */
export function childGrantAllowed(
  parent: Pick<GrantInput, 'operations' | 'constraints'>,
  child: { readonly operations: readonly string[]; readonly constraints?: GrantConstraintsInput },
): boolean {
  if (!child.operations.every((op) => parent.operations.includes(op))) return false
  const pEquals = parent.constraints?.EncryptionContextEquals
  const pSubset = parent.constraints?.EncryptionContextSubset
  const cEquals = child.constraints?.EncryptionContextEquals
  const cSubset = child.constraints?.EncryptionContextSubset
  if (pEquals)
    return cEquals !== undefined && cSubset === undefined && sameContext(pEquals, cEquals)
  if (pSubset) {
    const narrowed = cEquals ?? cSubset
    return narrowed !== undefined && containsContext(narrowed, pSubset)
  }
  return true
}
