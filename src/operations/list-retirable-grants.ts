import { AccessDeniedException, ValidationException } from '../domain/errors/exceptions.js'
import { invalidPrincipal, isGrantPrincipal, principalAccount } from '../domain/grant.js'
import { implicitDenyMessage } from '../domain/policy/index.js'
import type { Handler } from './context.js'
import { grantListEntry } from './support/grants.js'
import { readPageRequest, toPageOutput } from './support/pagination.js'

/**
 * ListRetirableGrants (API Reference, ListRetirableGrants; kms-authz.md §6.2): the grants of
 * the request's Region, on keys of any account, whose RetiringPrincipal is the one named,
 * ordered by grant ID and paged by Limit (1–100, default 50) and Marker. "You must specify a
 * principal in your AWS account": one of another account is refused as AWS's IAM refuses a
 * resource it does not own. Keyward holds no grants to service principals, so
 * RetiringServicePrincipal lists nothing.
 */
export const listRetirableGrants: Handler<'ListRetirableGrants'> = async (ctx, input) => {
  const request = readPageRequest('ListRetirableGrants', input)
  const retiring = input.RetiringPrincipal
  if (retiring !== undefined && input.RetiringServicePrincipal !== undefined) {
    throw new ValidationException(
      'RetiringPrincipal and RetiringServicePrincipal cannot be specified together.',
    )
  }
  if (input.RetiringServicePrincipal !== undefined) return { Grants: [], Truncated: false }
  // The model no longer marks RetiringPrincipal required (2026-05); the service still needs one.
  if (retiring === undefined) {
    throw new ValidationException(
      "1 validation error detected: Value null at 'retiringPrincipal' failed to satisfy constraint: Member must not be null",
    )
  }
  if (!isGrantPrincipal(retiring)) throw invalidPrincipal('RetiringPrincipal', retiring)
  if (principalAccount(retiring) !== ctx.caller.accountId) {
    throw new AccessDeniedException(
      implicitDenyMessage(
        { principalArn: ctx.caller.arn, action: 'kms:ListRetirableGrants', resource: '*' },
        'identity-based',
      ),
    )
  }
  const page = await ctx.keys.listRetirableGrants(
    { region: ctx.region, retiringPrincipal: retiring },
    request,
  )
  const out = toPageOutput('ListRetirableGrants', page, (grant) => grant.grantId)
  return {
    Grants: out.items.map(grantListEntry),
    Truncated: out.Truncated,
    NextMarker: out.NextMarker,
  }
}
