import { ValidationException } from '../domain/errors/exceptions.js'
import {
  assertGrantFitsKey,
  invalidPrincipal,
  isGrantPrincipal,
  readGrantConstraints,
  readGrantOperations,
  type GrantRequest,
} from '../domain/grant.js'
import { assertKeyState } from '../domain/key-state.js'
import { stopIfDryRun, type Handler } from './context.js'
import { refuseAlias } from './support/grants.js'

/**
 * CreateGrant (API Reference, CreateGrant; Developer Guide, "Grants in AWS KMS"; kms-authz.md
 * §6.1): a grant on a key of any account the caller may reach, for a grantee principal ARN
 * (account, user, role, federated user or assumed-role session, in any account), with
 * operations the key supports and, on symmetric encryption keys, an encryption context
 * constraint. A Name makes retries idempotent: the same Name and parameters on the same key
 * answer the existing GrantId, with a new token. GrantTokens are checked by the request core
 * (src/core/invoke.ts), as for every operation that takes them. Checks run in AWS's order for
 * DryRun: bad parameters get ValidationException, a good request DryRunOperationException.
 *
 * Grants to AWS service principals (GranteeServicePrincipal, RetiringServicePrincipal,
 * Constraints.SourceArn) are refused: no AWS service calls Keyward, so such a grant could
 * never be used (docs/grants.md, "Deviations").
 */
export const createGrant: Handler<'CreateGrant'> = async (ctx, input) => {
  const request = readGrantRequest(input)
  refuseAlias(input.KeyId)
  const key = await ctx.keys.resolve({ by: ctx, keyId: input.KeyId, accept: 'idOrArn' })
  assertKeyState(key, 'grant')
  assertGrantFitsKey(key, request)
  stopIfDryRun(input)
  const { grant } = await ctx.keys.createGrant(key, request, {
    check: (current) => assertKeyState(current, 'grant'),
  })
  return { GrantId: grant.grantId, GrantToken: await ctx.keys.issueGrantToken(grant.grantId) }
}

type CreateGrantInput = Parameters<Handler<'CreateGrant'>>[1]

/** The request's members, checked as far as they can be without the key. */
function readGrantRequest(input: CreateGrantInput): GrantRequest {
  if (input.GranteeServicePrincipal !== undefined || input.RetiringServicePrincipal !== undefined) {
    throw new ValidationException(
      'Keyward does not support grants to AWS service principals: no AWS service calls it.',
    )
  }
  if (input.Constraints?.SourceArn !== undefined) {
    throw new ValidationException(
      'Keyward does not support the SourceArn grant constraint: it applies only to AWS service principals.',
    )
  }
  // The model no longer marks GranteePrincipal required (2026-05), so its absence is checked
  // here, in the validator's words (kms-api.md §8).
  const grantee = input.GranteePrincipal
  if (grantee === undefined) {
    throw new ValidationException(
      "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null",
    )
  }
  if (!isGrantPrincipal(grantee)) throw invalidPrincipal('GranteePrincipal', grantee)
  const retiring = input.RetiringPrincipal
  if (retiring !== undefined && !isGrantPrincipal(retiring)) {
    throw invalidPrincipal('RetiringPrincipal', retiring)
  }
  const constraints = readGrantConstraints(input.Constraints)
  return {
    granteePrincipal: grantee,
    operations: readGrantOperations(input.Operations),
    ...(input.Name !== undefined ? { name: input.Name } : {}),
    ...(retiring !== undefined ? { retiringPrincipal: retiring } : {}),
    ...(constraints ? { constraints } : {}),
  }
}
