/**
 * The Authorizer of a running server (issue 12): every call is decided by the key policy, the
 * caller's identity (and session) policies and the grants on the key, with the pure evaluator
 * of src/domain/policy (docs/authorization.md). Policies are compiled once per change: key
 * policies are cached by key ARN and policy text, identity policies by their document objects.
 */
import { AccessDeniedException } from '../domain/errors/exceptions.js'
import type { KeyRecord } from '../domain/key.js'
import {
  accessDeniedMessage,
  defaultKeyPolicy,
  evaluate,
  implicitDenyMessage,
  parsePolicy,
  type CompiledPolicy,
  type GrantInput,
  type AuthorizationRequest as EvaluatorRequest,
} from '../domain/policy/index.js'
import {
  callerPolicies,
  callerPrincipal,
  type CallerPolicies,
  type PolicyCaller,
} from '../domain/policy-caller.js'
import { requestConditions } from '../domain/request-conditions.js'
import type { AuthorizationRequest, Authorizer } from '../ports/authorizer.js'
import type { Clock } from '../ports/clock.js'
import type { KeyService } from './key-service.js'

/**
 * A grant as the authorizer reads it: the fields of GrantRecord (src/domain/grant.ts) that
 * decide a request (kms-authz.md §6.4).
 */
export interface GrantView {
  readonly grantId: string
  readonly granteePrincipal: string
  readonly operations: readonly string[]
  readonly constraints?: {
    readonly encryptionContextEquals?: Readonly<Record<string, string>>
    readonly encryptionContextSubset?: Readonly<Record<string, string>>
  }
}

/** Where the grants on a key come from (KeyService.grantsForKey, served from memory). */
export interface GrantSource {
  grantsForKey(key: KeyRecord): Promise<readonly GrantView[]>
}

/** Where a key's aliases come from, read only when a policy tests kms:ResourceAliases. */
export interface AliasSource {
  aliasesOfKey(key: KeyRecord): Promise<readonly string[]>
}

/**
 * A key's aliases from the store: read at the moment of the call, so a new alias counts at once
 * (stricter than AWS's eventual consistency, kms-authz.md §5).
 *
 * @example
 *   new PolicyAuthorizer({ grants, aliases: storedAliases(keys), clock })
 */
export function storedAliases(keys: Pick<KeyService, 'listAliases'>): AliasSource {
  return {
    aliasesOfKey: async (key) => {
      const names: string[] = []
      const scope = { accountId: key.accountId, region: key.region }
      let after: string | undefined
      do {
        const page = await keys.listAliases(scope, {
          keyId: key.keyId,
          limit: 100,
          ...(after !== undefined ? { after } : {}),
        })
        names.push(...page.items.map((a) => a.aliasName))
        after = page.truncated ? page.items.at(-1)?.aliasName : undefined
      } while (after !== undefined)
      return names
    },
  }
}

/** What the authorizer is built from. */
export interface PolicyAuthorizerDeps {
  readonly grants: GrantSource
  readonly aliases: AliasSource
  readonly clock: Clock
}

/** Bound of the compiled key policy cache; past it the cache starts afresh. */
const MAX_CACHED_POLICIES = 50_000

/**
 * Decides each call with the evaluator and throws AccessDeniedException with AWS's message.
 *
 * @example
 *   const authorizer = new PolicyAuthorizer({ grants: keys, aliases, clock })
 *   await authorizer.authorize({ caller, action: 'kms:Encrypt', resource: key.arn, key, input, context })
 */
export class PolicyAuthorizer implements Authorizer {
  readonly #deps: PolicyAuthorizerDeps
  readonly #keyPolicies = new Map<string, { text: string; compiled: CompiledPolicy }>()
  readonly #readsAliases = new WeakMap<CompiledPolicy, boolean>()

  constructor(deps: PolicyAuthorizerDeps) {
    this.#deps = deps
  }

  async authorize(request: AuthorizationRequest): Promise<void> {
    const caller = request.caller as PolicyCaller
    const policies = this.#policiesOf(request)
    const key = request.key
    const operation = request.operation ?? request.action.slice('kms:'.length)
    const aliases =
      key && this.#needsAliases(policies) ? await this.#deps.aliases.aliasesOfKey(key) : undefined
    const now = this.#deps.clock.now()
    const evaluation: EvaluatorRequest = {
      principal: callerPrincipal(caller),
      action: request.action,
      resource: request.resource,
      // Built only if a statement that could apply reads a condition key (the evaluator
      // calls this at most once); the time is read now, when the request is decided.
      conditions: () =>
        requestConditions({
          operation,
          input: request.input,
          ...(key ? { key } : {}),
          ...(request.role ? { role: request.role } : {}),
          ...(aliases ? { aliases } : {}),
          region: request.context.region,
          ...(request.context.origin ? { origin: request.context.origin } : {}),
          now,
        }),
      identityPolicies: policies.identityPolicies,
      ...(policies.sessionPolicy ? { sessionPolicy: policies.sessionPolicy } : {}),
      ...(key
        ? {
            keyAccount: key.accountId,
            keyPolicy: this.#keyPolicyOf(key),
            encryptionContext: contextOf(request),
          }
        : {}),
      ...createGrantOf(operation, request.input),
    }
    let decision = evaluate(evaluation)
    // Grants are read only when the policies alone do not allow: an explicit deny is final
    // (grants never override a Deny, §6.4), and an allowed call needs none, so the common
    // case does not touch them.
    if (!decision.allowed && decision.reason !== 'explicit-deny' && key) {
      const grants = await this.#deps.grants.grantsForKey(key)
      if (grants.length > 0) decision = evaluate({ ...evaluation, grants: grants.map(grantInput) })
    }
    if (decision.allowed) return
    throw new AccessDeniedException(
      accessDeniedMessage(
        { principalArn: caller.arn, action: request.action, resource: request.resource },
        decision,
      ),
    )
  }

  /** The caller's compiled policies; a document that does not compile refuses the call. */
  #policiesOf(request: AuthorizationRequest): CallerPolicies {
    try {
      return callerPolicies(request.caller as PolicyCaller)
    } catch {
      // Ignoring a broken policy could drop a Deny; refusing is the safe answer.
      throw new AccessDeniedException(
        implicitDenyMessage(
          { principalArn: request.caller.arn, action: request.action, resource: request.resource },
          'identity-based',
        ),
      )
    }
  }

  /** The key's policy, compiled once per text. */
  #keyPolicyOf(key: KeyRecord): CompiledPolicy {
    const hit = this.#keyPolicies.get(key.arn)
    if (hit && hit.text === key.policy) return hit.compiled
    if (this.#keyPolicies.size >= MAX_CACHED_POLICIES) this.#keyPolicies.clear()
    const compiled = compileStoredPolicy(key)
    this.#keyPolicies.set(key.arn, { text: key.policy, compiled })
    return compiled
  }

  #needsAliases(policies: CallerPolicies): boolean {
    const all = policies.sessionPolicy
      ? [...policies.identityPolicies, policies.sessionPolicy]
      : policies.identityPolicies
    return all.some((p) => this.#readsResourceAliases(p))
  }

  #readsResourceAliases(policy: CompiledPolicy): boolean {
    let reads = this.#readsAliases.get(policy)
    if (reads === undefined) {
      reads = policy.statements.some((s) =>
        s.conditions.some((c) => c.key === 'kms:resourcealiases'),
      )
      this.#readsAliases.set(policy, reads)
    }
    return reads
  }
}

/**
 * A stored key policy, compiled. A policy stored before policies were parsed strictly may not
 * compile any more; such a key is not opened to anyone, but the principals of its account whose
 * IAM policies allow it may still read and replace its policy, so that it can be repaired.
 */
function compileStoredPolicy(key: KeyRecord): CompiledPolicy {
  try {
    return parsePolicy(key.policy, { kind: 'key' })
  } catch {
    const repair = JSON.parse(defaultKeyPolicy(key.accountId)) as {
      Statement: Array<Record<string, unknown>>
    }
    repair.Statement[0]!.Action = ['kms:GetKeyPolicy', 'kms:PutKeyPolicy']
    return parsePolicy(repair, { kind: 'key' })
  }
}

/** The encryption context grant constraints are checked against (§6.4). */
function contextOf(request: AuthorizationRequest): Readonly<Record<string, string>> | undefined {
  const input = (request.input ?? {}) as Record<string, unknown>
  const context =
    request.role === 'source'
      ? input.SourceEncryptionContext
      : request.role === 'destination'
        ? input.DestinationEncryptionContext
        : input.EncryptionContext
  return context && typeof context === 'object' ? (context as Record<string, string>) : undefined
}

/** For CreateGrant: the grant asked for, so a grant-based permission can be checked (§6.5). */
function createGrantOf(operation: string, input: unknown): Pick<EvaluatorRequest, 'createGrant'> {
  if (operation !== 'CreateGrant' || !input || typeof input !== 'object') return {}
  const i = input as {
    Operations?: readonly string[]
    Constraints?: {
      EncryptionContextEquals?: Record<string, string>
      EncryptionContextSubset?: Record<string, string>
    }
  }
  return {
    createGrant: {
      operations: i.Operations ?? [],
      ...(i.Constraints ? { constraints: i.Constraints } : {}),
    },
  }
}

const grantInput = (g: GrantView): GrantInput => ({
  grantId: g.grantId,
  grantee: g.granteePrincipal,
  operations: g.operations,
  ...(g.constraints
    ? {
        constraints: {
          ...(g.constraints.encryptionContextEquals
            ? { EncryptionContextEquals: g.constraints.encryptionContextEquals }
            : {}),
          ...(g.constraints.encryptionContextSubset
            ? { EncryptionContextSubset: g.constraints.encryptionContextSubset }
            : {}),
        },
      }
    : {}),
})
