/**
 * Identifiers and ARNs of keys and aliases (AWS KMS Developer Guide, "Key identifiers (KeyId)").
 *
 *   key ID      1234abcd-12ab-34cd-56ef-1234567890ab          (lowercase UUID v4)
 *   MRK key ID  mrk-1234abcd12ab34cd56ef1234567890ab          (mrk- + 32 lowercase hex)
 *   key ARN     arn:aws:kms:us-east-2:111122223333:key/<key ID>
 *   alias       alias/ExampleAlias
 *   alias ARN   arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias
 */

const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/
const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/

/** The partition every ARN Keyward writes uses. */
export const PARTITION = 'aws'

/** Where a key or alias lives: its account and its Region. */
export interface Scope {
  readonly accountId: string
  readonly region: string
}

/** True for a well-formed key ID (a UUID or an `mrk-` ID); AWS treats anything else as malformed. */
export const isKeyId = (value: string): boolean => KEY_ID.test(value)

/** `arn:aws:kms:<region>:<account>:key/<keyId>` */
export const keyArn = (scope: Scope, keyId: string): string =>
  `arn:${PARTITION}:kms:${scope.region}:${scope.accountId}:key/${keyId}`

/** `arn:aws:kms:<region>:<account>:alias/<name without the alias/ prefix>` */
export const aliasArn = (scope: Scope, aliasName: string): string =>
  `arn:${PARTITION}:kms:${scope.region}:${scope.accountId}:${aliasName}`

/** A parsed KMS ARN. */
export interface ParsedArn extends Scope {
  readonly partition: string
  readonly resourceType: 'key' | 'alias'
  /** Key ID for a key ARN; full `alias/…` name for an alias ARN. */
  readonly resource: string
}

/** Parses a KMS key or alias ARN; undefined when `value` is not one. */
export function parseArn(value: string): ParsedArn | undefined {
  const m = ARN.exec(value)
  if (!m) return undefined
  const [, partition, region, accountId, resourceType, rest] = m as unknown as string[]
  return {
    partition: partition!,
    region: region!,
    accountId: accountId!,
    resourceType: resourceType as 'key' | 'alias',
    resource: resourceType === 'alias' ? `alias/${rest}` : rest!,
  }
}

/** A KeyId parameter, classified by form (what AWS accepts depends on the operation). */
export type KeyReference =
  | { readonly kind: 'keyId'; readonly keyId: string }
  | { readonly kind: 'keyArn'; readonly arn: ParsedArn; readonly keyId: string }
  | { readonly kind: 'aliasName'; readonly aliasName: string }
  | { readonly kind: 'aliasArn'; readonly arn: ParsedArn; readonly aliasName: string }
  | { readonly kind: 'malformed'; readonly value: string }

/** Classifies a KeyId parameter by its form, without looking anything up. */
export function classifyKeyReference(value: string): KeyReference {
  if (value.startsWith('arn:')) {
    const arn = parseArn(value)
    if (!arn) return { kind: 'malformed', value }
    return arn.resourceType === 'alias'
      ? { kind: 'aliasArn', arn, aliasName: arn.resource }
      : { kind: 'keyArn', arn, keyId: arn.resource }
  }
  if (value.startsWith('alias/')) return { kind: 'aliasName', aliasName: value }
  if (isKeyId(value)) return { kind: 'keyId', keyId: value }
  return { kind: 'malformed', value }
}
