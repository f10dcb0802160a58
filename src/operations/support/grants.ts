import {
  InvalidArnException,
  InvalidGrantIdException,
  NotFoundException,
} from '../../domain/errors/exceptions.js'
import { isGrantId, type GrantRecord } from '../../domain/grant.js'
import { classifyKeyReference, keyArn } from '../../domain/identifiers.js'

/*
 * What the five grant operations share: AWS's answer to an alias where a grant operation wants
 * a key, the GrantId checks, and the GrantListEntry shape.
 */

/**
 * Grant operations name keys by key ID or key ARN only. An alias gets AWS's recorded answer
 * (CreateGrant: terraform#20813, boto/boto#3202): InvalidArnException "Key Aliases are not
 * supported for this operation." The other grant operations model the same exception and
 * answer the same here.
 */
export function refuseAlias(keyId: string): void {
  const kind = classifyKeyReference(keyId).kind
  if (kind === 'aliasName' || kind === 'aliasArn') {
    throw new InvalidArnException('Key Aliases are not supported for this operation.')
  }
}

/**
 * A GrantId member: InvalidGrantIdException unless it has the form of a grant ID (64 hex
 * characters), which no grant can have otherwise (API Reference: "the specified GrantId is
 * not valid"; the text is not recorded).
 */
export function readGrantId(value: string): string {
  if (!isGrantId(value)) throw new InvalidGrantIdException(`Invalid grantId '${value}'`)
  return value
}

/** A well-formed grant ID that names no grant of the key (the text is not recorded). */
export const grantNotFound = (grantId: string): NotFoundException =>
  new NotFoundException(`Grant ${grantId} does not exist`)

/** One GrantListEntry (API Reference, ListGrants; kms-authz.md §6.2). */
export function grantListEntry(grant: GrantRecord) {
  const c = grant.constraints
  return {
    KeyId: keyArn(grant, grant.keyId),
    GrantId: grant.grantId,
    // The Developer Guide's examples show an unnamed grant's Name as "".
    Name: grant.name ?? '',
    CreationDate: new Date(grant.creationDate),
    GranteePrincipal: grant.granteePrincipal,
    ...(grant.retiringPrincipal !== undefined
      ? { RetiringPrincipal: grant.retiringPrincipal }
      : {}),
    IssuingAccount: grant.issuingAccount,
    Operations: [...grant.operations],
    ...(c?.encryptionContextEquals
      ? { Constraints: { EncryptionContextEquals: { ...c.encryptionContextEquals } } }
      : c?.encryptionContextSubset
        ? { Constraints: { EncryptionContextSubset: { ...c.encryptionContextSubset } } }
        : {}),
  }
}
