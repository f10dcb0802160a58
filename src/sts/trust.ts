import { ADMINISTRATOR_POLICY, type Role } from '../config/principals.js'
import type { Caller } from '../domain/caller.js'
import { callerPolicies, callerPrincipal } from '../domain/policy-caller.js'
import { evaluate, parsePolicy } from '../domain/policy/index.js'

/**
 * May `caller` assume `role`? (IAM User Guide, "Policy evaluation logic" and "Cross-account
 * policy evaluation logic"; "Granting a user permissions to switch roles".) The trust policy is
 * the role's resource policy. In the role's own account it suffices when it names the caller
 * itself; when it names the account (`arn:aws:iam::<acct>:root`), an identity policy of the
 * caller must allow the action too. From another account both are needed: the trust policy
 * must name the caller or its account, and the caller's identity policy must allow. An explicit
 * Deny in any of them wins.
 */

const administrator = parsePolicy(ADMINISTRATOR_POLICY.document, { kind: 'identity' })

/** What the request supplies to the trust decision. */
export interface TrustRequest {
  /** `sts:AssumeRole` or `sts:TagSession`. */
  readonly action: string
  /** Condition keys of the request: sts:RoleSessionName, sts:ExternalId, aws:RequestTag/…, aws:TagKeys. */
  readonly conditions: Readonly<Record<string, string | readonly string[]>>
}

/**
 * True when the trust policy of `role` and the caller's policies let `caller` perform
 * `request.action` on the role.
 *
 * @example
 *   trustAllows(alice, role, { action: 'sts:AssumeRole', conditions: {} })
 */
export function trustAllows(caller: Caller, role: Role, request: TrustRequest): boolean {
  // The same view of the caller as every KMS decision (src/domain/policy-caller.ts).
  const principal = callerPrincipal(caller)
  const { identityPolicies, sessionPolicy } = callerPolicies(caller)
  const base = {
    principal,
    action: request.action,
    resource: role.arn,
    conditions: request.conditions,
    identityPolicies,
    ...(sessionPolicy ? { sessionPolicy } : {}),
  }
  if (caller.accountId === role.accountId) {
    return evaluate({ ...base, keyAccount: role.accountId, keyPolicy: role.trustPolicy }).allowed
  }
  // Another account: the trust policy must name the caller or its account (evaluated as if the
  // caller were local, with an identity side that allows), and the caller's own policies must
  // allow on their own (evaluated against a resource policy that only delegates to them).
  const trustSide = evaluate({
    ...base,
    keyAccount: caller.accountId,
    keyPolicy: role.trustPolicy,
    identityPolicies: [administrator],
  })
  if (!trustSide.allowed) return false
  const delegate = parsePolicy(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${caller.accountId}:root` },
          Action: '*',
          Resource: '*',
        },
      ],
    },
    { kind: 'key' },
  )
  return evaluate({ ...base, keyAccount: caller.accountId, keyPolicy: delegate }).allowed
}
