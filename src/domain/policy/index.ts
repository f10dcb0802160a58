/**
 * The authorization evaluator of Keyward: pure functions over compiled policies, grants and a
 * request context (docs/authorization-evaluator.md). The server calls it for every request
 * through src/services/policy-authorizer.ts (docs/authorization.md).
 */
export { accessDeniedMessage, explicitDenyMessage, implicitDenyMessage } from './access-denied.js'
export type { AccessDeniedInput } from './access-denied.js'
export { allowsFuturePutKeyPolicy, assertNoLockout, defaultKeyPolicy } from './default-policy.js'
export { MAX_IDENTITY_POLICY_BYTES, MAX_KEY_POLICY_BYTES, parsePolicy } from './document.js'
export type {
  CompiledPolicy,
  CompiledStatement,
  ParsePolicyOptions,
  PolicyKind,
} from './document.js'
export { POLICY_MESSAGES, PolicyDocumentError } from './errors.js'
export {
  childGrantAllowed,
  conditionValues,
  encryptionContextAllowed,
  encryptionContextConditions,
  evaluate,
  granteeMatches,
} from './evaluate.js'
export type { AuthorizationRequest, Decision, GrantInput } from './evaluate.js'
export type { CallerPrincipal } from './principal.js'
export { retireGrantDecision } from './retire-grant.js'
export {
  CONDITION_KEYS,
  CROSS_ACCOUNT_ACTIONS,
  IAM_ONLY_ACTIONS,
  OPERATION_PERMISSIONS,
  conditionKeyInfo,
  conditionKeysFor,
} from './tables.js'
