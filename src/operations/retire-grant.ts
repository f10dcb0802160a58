import type { Caller } from '../domain/caller.js'
import {
  AccessDeniedException,
  InvalidGrantIdException,
  ValidationException,
} from '../domain/errors/exceptions.js'
import { invalidKeyId } from '../domain/errors/messages.js'
import type { GrantRecord } from '../domain/grant.js'
import { classifyKeyReference, keyArn } from '../domain/identifiers.js'
import { accessDeniedMessage, retireGrantDecision } from '../domain/policy/index.js'
import { callerPolicies, callerPrincipal } from '../domain/policy-caller.js'
import { stopIfDryRun, type Handler, type OperationContext } from './context.js'
import { grantNotFound, readGrantId, refuseAlias } from './support/grants.js'

/**
 * RetireGrant (API Reference, RetireGrant; Developer Guide, "Retiring and revoking grants";
 * kms-authz.md §6.6): deletes a grant named by GrantToken, or by KeyId (key ID or key ARN) and
 * GrantId, in any key state. Who may retire is decided by the grant, not by the key policy
 * (src/domain/policy/retire-grant.ts): its retiring principal; its grantee when the grant
 * includes RetireGrant; the key's account, and principals to whom it (or the retiring
 * principal's account) delegates kms:RetireGrant in an IAM policy. So the key is looked up
 * here, not resolved through the key-policy check of other key operations.
 */
export const retireGrant: Handler<'RetireGrant'> = async (ctx, input) => {
  const grantId = await grantIdOf(ctx, input)
  const grant = await ctx.keys.findGrant(grantId)
  if (!grant || grant.region !== ctx.region || !keyMatches(ctx, input.KeyId, grant)) {
    throw grantNotFound(grantId)
  }
  assertMayRetire(ctx.caller, grant)
  stopIfDryRun(input)
  if (!(await ctx.keys.deleteGrant(grant))) throw grantNotFound(grantId)
  return {}
}

type RetireGrantInput = Parameters<Handler<'RetireGrant'>>[1]

/** The grant the request names: by its token, else by GrantId (with KeyId). */
async function grantIdOf(ctx: OperationContext, input: RetireGrantInput): Promise<string> {
  if (input.KeyId !== undefined) refuseAlias(input.KeyId)
  if (input.GrantToken !== undefined) {
    const fromToken = await ctx.keys.grantIdOfToken(input.GrantToken)
    if (input.GrantId !== undefined && readGrantId(input.GrantId) !== fromToken) {
      throw new InvalidGrantIdException(
        'The GrantId does not match the grant that the GrantToken names.',
      )
    }
    return fromToken
  }
  if (input.GrantId === undefined || input.KeyId === undefined) {
    // API Reference, RetireGrant: "Identify the grant to retire by its grant token, or by
    // its grant ID and key ID" (the text of AWS's answer is not recorded).
    throw new ValidationException(
      'Specify the GrantToken, or the KeyId and the GrantId, of the grant to retire.',
    )
  }
  return readGrantId(input.GrantId)
}

/** Whether KeyId, when given, names the grant's key (a bare key ID: in the caller's account). */
function keyMatches(ctx: OperationContext, keyId: string | undefined, grant: GrantRecord): boolean {
  if (keyId === undefined) return true
  const ref = classifyKeyReference(keyId)
  switch (ref.kind) {
    case 'keyId':
      return ref.keyId === grant.keyId && grant.accountId === ctx.caller.accountId
    case 'keyArn':
      return (
        ref.keyId === grant.keyId &&
        ref.arn.accountId === grant.accountId &&
        ref.arn.region === grant.region
      )
    default:
      throw invalidKeyId(keyId)
  }
}

function assertMayRetire(caller: Caller, grant: GrantRecord): void {
  const resource = keyArn(grant, grant.keyId)
  // The caller's policies, compiled once per document and shared with the authorizer.
  const policies = callerPolicies(caller)
  const decision = retireGrantDecision(
    {
      grantId: grant.grantId,
      grantee: grant.granteePrincipal,
      ...(grant.retiringPrincipal !== undefined
        ? { retiringPrincipal: grant.retiringPrincipal }
        : {}),
      operations: grant.operations,
      keyAccount: grant.accountId,
      keyArn: resource,
    },
    {
      principal: callerPrincipal(caller),
      identityPolicies: policies.identityPolicies,
      ...(policies.sessionPolicy ? { sessionPolicy: policies.sessionPolicy } : {}),
    },
  )
  if (!decision.allowed) {
    throw new AccessDeniedException(
      accessDeniedMessage(
        { principalArn: caller.arn, action: 'kms:RetireGrant', resource },
        decision,
      ),
    )
  }
}
