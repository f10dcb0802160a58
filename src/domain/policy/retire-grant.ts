/**
 * Who may retire a grant (Developer Guide, "Retiring and revoking grants"; API Reference,
 * RetireGrant; kms-authz.md §6.6). RetireGrant is decided by the grant, not by the key policy:
 * `kms:RetireGrant` in a key policy is ineffective, in an IAM policy it only delegates the right
 * of the account, and an IAM Deny on it blocks retirement.
 */
import type { CompiledPolicy } from './document.js'
import { evaluate, granteeMatches, type ConditionInput, type Decision } from './evaluate.js'
import type { CallerPrincipal } from './principal.js'

/** The grant fields the rule reads. */
export interface RetirableGrant {
  readonly grantId?: string
  readonly grantee: string
  readonly retiringPrincipal?: string
  readonly operations: readonly string[]
  /** The account the grant was created in: the key's account. */
  readonly keyAccount: string
  readonly keyArn: string
}

/** The caller and its identity policies. */
export interface RetireRequest {
  readonly principal: CallerPrincipal
  readonly identityPolicies?: readonly CompiledPolicy[]
  readonly sessionPolicy?: CompiledPolicy
  readonly conditions?: Readonly<Record<string, ConditionInput>>
}

const accountOf = (arn: string): string | undefined =>
  /^\d{12}$/.test(arn) ? arn : /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1]

/**
 * Decides RetireGrant for `request.principal` on `grant`.
 *
 * @example
 *   retireGrantDecision(grant, { principal: bob, identityPolicies: [] }).allowed
 */
export function retireGrantDecision(grant: RetirableGrant, request: RetireRequest): Decision {
  const caller = request.principal
  const iam = evaluate({
    principal: caller,
    action: 'kms:RetireGrant',
    resource: grant.keyArn,
    keyAccount: grant.keyAccount,
    ...(request.identityPolicies ? { identityPolicies: request.identityPolicies } : {}),
    ...(request.sessionPolicy ? { sessionPolicy: request.sessionPolicy } : {}),
    ...(request.conditions ? { conditions: request.conditions } : {}),
  })
  if (iam.reason === 'explicit-deny') return iam
  const byGrant = (): Decision => ({
    allowed: true,
    reason: 'grant',
    statements: [],
    ...(grant.grantId !== undefined ? { grantId: grant.grantId } : {}),
  })
  if (grant.retiringPrincipal !== undefined && granteeMatches(grant.retiringPrincipal, caller)) {
    return byGrant()
  }
  if (granteeMatches(grant.grantee, caller) && grant.operations.includes('RetireGrant')) {
    return byGrant()
  }
  // The account that created the grant (its root user), and IAM principals to whom that
  // account, or the retiring principal's account, delegates kms:RetireGrant.
  if (caller.type === 'root' && caller.account === grant.keyAccount) return byGrant()
  const delegating = [
    grant.keyAccount,
    grant.retiringPrincipal && accountOf(grant.retiringPrincipal),
  ]
  if (caller.type !== 'root' && delegating.includes(caller.account) && iam.allowed) return iam
  return { allowed: false, reason: 'no-allow', policyType: 'identity-based', statements: [] }
}
