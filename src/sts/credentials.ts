import type { Principals } from '../config/principals.js'
import type { Caller } from '../domain/caller.js'
import { ExpiredTokenException } from '../domain/errors/exceptions.js'
import type { Credential } from '../sigv4/sigv4.js'
import type { SessionClaims, SessionTokens } from './session-token.js'

/** AWS's answer to temporary credentials past their expiry (every AWS JSON service). */
export const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired'

/** The caller a role session acts as (IAM User Guide, "IAM identifiers": assumed-role ARNs). */
function roleSessionCaller(
  principals: Principals,
  claims: SessionClaims,
  accessKeyId: string,
): Caller | undefined {
  const role = principals.roles?.get(claims.principalArn)
  // A role removed from the file takes its sessions with it (stricter than AWS, where a
  // session outlives its role's deletion but holds no permission).
  if (!role || claims.sessionName === undefined) return undefined
  return {
    accountId: role.accountId,
    arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${claims.sessionName}`,
    principalType: 'assumed-role',
    userId: `${role.roleId}:${claims.sessionName}`,
    // Session tags override the role's tags of the same key (IAM User Guide, "Passing session tags").
    tags: { ...role.tags, ...claims.tags },
    roleArn: role.arn,
    sessionName: claims.sessionName,
    accessKeyId,
    identityPolicies: role.policies,
    ...(claims.sessionPolicy !== undefined ? { sessionPolicy: claims.sessionPolicy } : {}),
  }
}

/**
 * The credential lookup of SigV4 verification: long-term access keys from the principals file,
 * then temporary ones opened from their session token. A temporary credential acts with the
 * policies its role or user has now (the file may have changed since it was issued).
 *
 * @throws ExpiredTokenException when the session token is genuine but expired
 * @example
 *   verifySigV4(request, { service: 'kms', now, lookup: credentialLookup(principals, tokens, now) })
 */
export function credentialLookup(
  principals: Principals,
  tokens: SessionTokens | undefined,
  now: number,
): (accessKeyId: string, sessionToken: string) => Credential<Caller> | undefined {
  return (accessKeyId, sessionToken) => {
    const fixed = principals.credentials.get(accessKeyId)
    if (fixed || !tokens || !sessionToken || !accessKeyId.startsWith('ASIA')) return fixed
    const claims = tokens.open(accessKeyId, sessionToken)
    if (!claims) return undefined
    if (now >= claims.expiresAt) throw new ExpiredTokenException(EXPIRED_TOKEN_MESSAGE)
    const principal =
      claims.kind === 'role'
        ? roleSessionCaller(principals, claims, accessKeyId)
        : userSessionCaller(principals, claims, accessKeyId)
    if (!principal) return undefined
    return { secretAccessKey: claims.secretAccessKey, sessionToken, principal }
  }
}

function userSessionCaller(
  principals: Principals,
  claims: SessionClaims,
  accessKeyId: string,
): Caller | undefined {
  const user = principals.users?.get(claims.principalArn)
  return user ? { ...user, accessKeyId } : undefined
}
