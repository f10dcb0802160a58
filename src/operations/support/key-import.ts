import {
  IncorrectKeyMaterialException,
  UnsupportedOperationException,
  ValidationException,
} from '../../domain/errors/exceptions.js'
import { readImportedPrivateKey } from '../../crypto/key-import.js'
import type { KeyRecord } from '../../domain/key.js'
import type { ExpirationModel } from '../../domain/key-materials.js'
import { KEY_ORIGINS } from '../../domain/key-origins.js'
import { KEY_SPECS } from '../../domain/key-specs.js'
import type { OperationContext } from '../context.js'

/**
 * What GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial share: the key
 * must take imported material, the expiration rules, and reading the material itself.
 */

/**
 * Refuses a key that does not take imported material, with AWS's recorded message:
 * "<key ARN> origin is AWS_KMS which is not valid for this operation." (footnote [9]).
 */
export function assertExternalOrigin(key: KeyRecord): void {
  if (KEY_ORIGINS[key.origin].material !== 'imported') {
    throw new UnsupportedOperationException(
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    )
  }
}

/**
 * The key of an import operation, by key ID or ARN (no aliases), checked for its origin.
 *
 * @example
 *   const key = await keyForImport(ctx, input.KeyId)
 */
export async function keyForImport(ctx: OperationContext, keyId: string): Promise<KeyRecord> {
  const key = await ctx.keys.resolve({ by: ctx, keyId: keyId, accept: 'idOrArn' })
  assertExternalOrigin(key)
  return key
}

/** "The maximum value is 365 days from the request date" (API Reference, ImportKeyMaterial). */
const MAX_VALID_TO_MS = 365 * 86_400_000

/**
 * ExpirationModel and ValidTo of an import: KEY_MATERIAL_EXPIRES (the default) needs a ValidTo
 * in the future and at most 365 days ahead; KEY_MATERIAL_DOES_NOT_EXPIRE takes none (API
 * Reference, ImportKeyMaterial). The first message is AWS's, recorded; the others follow it.
 *
 * @example
 *   readExpiration({ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, now) // { expirationModel: ... }
 */
export function readExpiration(
  input: { readonly ExpirationModel?: ExpirationModel; readonly ValidTo?: Date },
  now: number,
): { expirationModel: ExpirationModel; validTo?: number } {
  const expirationModel = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES'
  const validTo = input.ValidTo?.getTime()
  if (expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (validTo !== undefined) {
      throw new ValidationException(
        'A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE',
      )
    }
    return { expirationModel }
  }
  if (validTo === undefined || Number.isNaN(validTo)) {
    throw new ValidationException(
      'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
    )
  }
  if (validTo <= now) {
    throw new ValidationException('The validTo date must be in the future.')
  }
  if (validTo > now + MAX_VALID_TO_MS) {
    throw new ValidationException('The validTo date must be at most 365 days from now.')
  }
  return { expirationModel, validTo }
}

/** Imported material as Keyward stores it, and what identifies it. */
export interface ReadMaterial {
  /** What is stored, wrapped: the raw key, or the re-encoded PKCS #8 private key. */
  readonly stored: Buffer
  /** What its KeyMaterialId is computed over: the raw key, or the SPKI public key. */
  readonly identity: Buffer
  /** SPKI DER of a key pair. */
  readonly publicKey?: Buffer
}

/**
 * Checks unwrapped material against the key spec (Developer Guide, "Requirements for imported
 * key material"): a 256-bit key for symmetric encryption, an HMAC key of the spec's length
 * range, the PKCS #8 private key of the spec's type for a key pair. Anything else is
 * IncorrectKeyMaterialException ("The key material in the request is ... invalid"); the
 * message names what was expected, never the material.
 */
export function readMaterial(key: KeyRecord, bytes: Buffer): ReadMaterial {
  const spec = KEY_SPECS[key.keySpec]
  const importable = spec.importable
  if (importable?.format === 'raw') {
    const { minBytes, maxBytes } = importable
    if (bytes.length < minBytes || bytes.length > maxBytes) {
      const length =
        minBytes === maxBytes ? `${minBytes} bytes` : `between ${minBytes} and ${maxBytes} bytes`
      throw new IncorrectKeyMaterialException(
        `Key material for a ${key.keySpec} key must be ${length} long.`,
      )
    }
    return { stored: Buffer.from(bytes), identity: bytes }
  }
  const pair = importable && readImportedPrivateKey(spec.material, bytes)
  if (!pair?.publicKey) {
    throw new IncorrectKeyMaterialException(
      `Key material for a ${key.keySpec} key must be a DER-encoded PKCS #8 private key of that key spec.`,
    )
  }
  return { stored: pair.privateKey, identity: pair.publicKey, publicKey: pair.publicKey }
}
