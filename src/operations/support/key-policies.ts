import {
  LimitExceededException,
  MalformedPolicyDocumentException,
} from '../../domain/errors/exceptions.js'
import {
  assertNoLockout,
  parsePolicy,
  PolicyDocumentError,
  type CompiledPolicy,
} from '../../domain/policy/index.js'
import { callerPolicies, callerPrincipal, type PolicyCaller } from '../../domain/policy-caller.js'
import type { OperationContext } from '../context.js'

/** The exception a refused policy document is answered with. */
function toException(error: PolicyDocumentError) {
  return error.exception === 'LimitExceededException'
    ? new LimitExceededException(error.message)
    : new MalformedPolicyDocumentException(error.message)
}

/**
 * Checks a key policy that CreateKey or PutKeyPolicy is given, the way AWS does (API
 * Reference, PutKeyPolicy and CreateKey; kms-authz.md §7): the grammar, the 32 KB quota, and,
 * unless `BypassPolicyLockoutSafetyCheck` is true, the lockout safety check: the new policy,
 * with the caller's own identity policies, must let the caller call PutKeyPolicy on the key
 * later. Named users and roles must exist (`ctx.principalExists`). One parser (src/domain/policy) for every policy, so its messages are the only ones.
 *
 * @throws MalformedPolicyDocumentException (grammar, principals, lockout), LimitExceededException (size)
 * @example
 *   assertAcceptableKeyPolicy(ctx, { policy: input.Policy, keyArn: key.arn, bypass: input.BypassPolicyLockoutSafetyCheck })
 */
export function assertAcceptableKeyPolicy(
  ctx: Pick<OperationContext, 'caller' | 'principalExists'>,
  request: { policy: string; keyArn: string; bypass: boolean | undefined },
): CompiledPolicy {
  try {
    const compiled = parsePolicy(request.policy, {
      kind: 'key',
      ...(ctx.principalExists ? { principalExists: ctx.principalExists } : {}),
    })
    if (request.bypass === true) return compiled
    const caller = ctx.caller as PolicyCaller
    const policies = callerPolicies(caller)
    assertNoLockout(compiled, {
      principal: callerPrincipal(caller),
      resource: request.keyArn,
      keyAccount: caller.accountId,
      identityPolicies: policies.identityPolicies,
      ...(policies.sessionPolicy ? { sessionPolicy: policies.sessionPolicy } : {}),
    })
    return compiled
  } catch (error) {
    if (error instanceof PolicyDocumentError) throw toException(error)
    throw error
  }
}
