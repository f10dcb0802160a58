import type { KeyState } from '../key.js'
import {
  AccessDeniedException,
  DisabledException,
  KMSInvalidStateException,
  NotFoundException,
  TagException,
} from './exceptions.js'

/*
 * AWS's texts that more than one place answers, written once beside their exception classes:
 * each function returns the exception to throw. Sources: the AWS recordings in
 * ../shared/reference/aws-recorded-errors.md, kms-api.md §5.3 and the Developer Guide's key
 * state table. A text used in one place stays in that place, next to the rule it explains.
 */

/**
 * A KeyId that is no key ID, key ARN, alias name or alias ARN, or an alias where only key IDs
 * and ARNs are accepted: NotFoundException "Invalid keyId 'x'" (recorded).
 *
 * @example
 *   throw invalidKeyId('alias/foo')
 */
export const invalidKeyId = (value: string) => new NotFoundException(`Invalid keyId '${value}'`)

/**
 * A key or alias ARN of another Region than the request's: NotFoundException
 * "Invalid arn <region>" (recorded).
 *
 * @example
 *   throw invalidArnRegion('eu-west-1')
 */
export const invalidArnRegion = (region: string) => new NotFoundException(`Invalid arn ${region}`)

/**
 * A key that does not exist (or no longer does): NotFoundException "Key '<arn>' does not
 * exist" (recorded).
 *
 * @example
 *   throw keyNotFound('arn:aws:kms:us-east-1:111122223333:key/…')
 */
export const keyNotFound = (keyArn: string) =>
  new NotFoundException(`Key '${keyArn}' does not exist`)

/**
 * An alias that does not exist: NotFoundException "Alias <alias ARN> is not found.", final
 * period included (two real answers quoted in aws-recorded-errors.md: cloudposse/docs#152,
 * sigstore/cosign#1474).
 *
 * @example
 *   throw aliasNotFound('arn:aws:kms:us-east-1:111122223333:alias/missing')
 */
export const aliasNotFound = (aliasArn: string) =>
  new NotFoundException(`Alias ${aliasArn} is not found.`)

/**
 * Another account's key that no key policy opens to the caller (Developer Guide, "Default key
 * policy": a key is usable by its own account alone).
 *
 * @example
 *   throw notAuthorizedByResourcePolicy({ callerArn: caller.arn, resourceArn: key.arn })
 */
export const notAuthorizedByResourcePolicy = (who: { callerArn: string; resourceArn: string }) =>
  new AccessDeniedException(
    `User: ${who.callerArn} is not authorized to perform this operation on resource: ${who.resourceArn} because no resource-based policy allows it`,
  )

/**
 * Decrypt or ReEncrypt of a ciphertext whose key is missing, in another Region or not the
 * caller's: one AccessDeniedException for all three, so that it reveals nothing (recorded).
 *
 * @example
 *   throw ciphertextKeyNotAccessible()
 */
export const ciphertextKeyNotAccessible = () =>
  new AccessDeniedException(
    'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
  )

/**
 * A disabled key asked for a cryptographic operation (Developer Guide, "Key states", [1]).
 *
 * @example
 *   throw keyDisabled(key.arn) // "arn:aws:kms:…:key/… is disabled."
 */
export const keyDisabled = (keyArn: string) => new DisabledException(`${keyArn} is disabled.`)

/** How AWS's KMSInvalidStateException messages name each state ("<arn> is pending deletion."). */
const STATE_PHRASE: Record<KeyState, string> = {
  Creating: 'is creating',
  Enabled: 'is enabled',
  Disabled: 'is disabled',
  PendingDeletion: 'is pending deletion',
  PendingImport: 'is pending import',
  PendingReplicaDeletion: 'is pending replica deletion',
  Unavailable: 'is unavailable',
  Updating: 'is updating',
}

/**
 * A key whose state forbids the operation (Developer Guide, "Key states", footnotes [2]-[11]):
 * KMSInvalidStateException "<arn> is pending deletion." and the like.
 *
 * @example
 *   throw keyInInvalidState(key.arn, 'PendingImport') // "… is pending import."
 */
export const keyInInvalidState = (keyArn: string, state: KeyState) =>
  new KMSInvalidStateException(`${keyArn} ${STATE_PHRASE[state]}.`)

/**
 * CancelKeyDeletion of a key that is not pending deletion (recorded).
 *
 * @example
 *   throw keyNotPendingDeletion(key.arn)
 */
export const keyNotPendingDeletion = (keyArn: string) =>
  new KMSInvalidStateException(`${keyArn} is not pending deletion.`)

/**
 * A tag key starting with `aws:` (API Reference, TagResource and UntagResource: "reserved for
 * AWS use").
 *
 * @example
 *   throw reservedTagPrefix()
 */
export const reservedTagPrefix = () => new TagException('Tags beginning with aws: are reserved')
