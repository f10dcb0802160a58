import type { AuthorizedOperation, XksRule } from './config.js'
import { matchesAny } from './patterns.js'
import type { RequestMetadata } from './validate-request.js'

/**
 * Secondary authorization on the request metadata (spec, "Authorization"): a key store's rules
 * decide which callers may use which keys for which operations. GetHealthStatus is never
 * subject to it (the spec says MUST be excluded).
 *
 * Evaluation, as IAM's: a matching Deny rule denies; otherwise, when the key store has Allow
 * rules, one of them must match; a key store without rules allows everything. The decision
 * names the rule that denied, for the log (the spec says SHOULD log it).
 */

/** What a rule is matched against. */
export interface AuthorizationRequest {
  readonly operation: AuthorizedOperation
  readonly keyId: string
  readonly requestMetadata: RequestMetadata
}

export type AuthorizationDecision =
  | { readonly allowed: true; readonly rule?: string }
  | { readonly allowed: false; readonly rule: string }

/** `values` matches the condition `patterns` (absent: no condition); a missing value does not. */
function condition(patterns: readonly string[] | undefined, value: string | undefined): boolean {
  if (patterns === undefined) return true
  return value !== undefined && matchesAny(patterns, value)
}

function matches(rule: XksRule, request: AuthorizationRequest): boolean {
  const m = request.requestMetadata
  return (
    (rule.operations === undefined || rule.operations.includes(request.operation)) &&
    condition(rule.keys, request.keyId) &&
    condition(rule.principals, m.awsPrincipalArn) &&
    condition(rule.kmsKeyArns, m.kmsKeyArn) &&
    condition(rule.kmsOperations, m.kmsOperation) &&
    condition(rule.viaServices, m.kmsViaService) &&
    condition(rule.sourceVpces, m.awsSourceVpce)
  )
}

const ruleName = (rule: XksRule, index: number) => rule.name ?? `rules[${index}]`

/**
 * Decides `request` under `rules`.
 *
 * @example
 *   authorize([{ effect: 'Allow', principals: ['arn:aws:iam::111122223333:*'] }], request)
 */
export function authorize(
  rules: readonly XksRule[] | undefined,
  request: AuthorizationRequest,
): AuthorizationDecision {
  if (!rules || rules.length === 0) return { allowed: true }
  let allowedBy: string | undefined
  let hasAllow = false
  for (const [i, rule] of rules.entries()) {
    if (rule.effect === 'Allow') hasAllow = true
    if (!matches(rule, request)) continue
    if (rule.effect === 'Deny') return { allowed: false, rule: ruleName(rule, i) }
    allowedBy ??= ruleName(rule, i)
  }
  if (allowedBy !== undefined) return { allowed: true, rule: allowedBy }
  return hasAllow ? { allowed: false, rule: 'no Allow rule matched' } : { allowed: true }
}
