import {
  KMSInternalException,
  UnsupportedOperationException,
  ValidationException,
} from '../../domain/errors/exceptions.js'
import type { KeyRecord } from '../../domain/key.js'
import { assertAlgorithm, assertKeyUsage } from '../../domain/key-checks.js'
import {
  KEY_SPECS,
  SIGNING_ALGORITHMS,
  type KeyUsage,
  type MessageType,
  type SigningAlgorithm,
  type SigningAlgorithmFacts,
} from '../../domain/key-specs.js'
import { assertKeyState } from '../../domain/key-state.js'
import type { OperationContext } from '../context.js'

/**
 * What the operations on asymmetric and HMAC keys share: finding a key for a usage, its public
 * key, its private material, and the checks of a Sign or Verify request. The cryptography
 * itself is in src/crypto/.
 */

/**
 * The checks of every operation that uses a key for one KeyUsage, in AWS's order:
 * resolve → key state → key usage. Returns the key.
 *
 * @example
 *   const key = await keyForUsage(ctx, { keyId: input.KeyId, usage: 'SIGN_VERIFY', operation: 'Sign' })
 */
export async function keyForUsage(
  ctx: OperationContext,
  req: { keyId: string; usage: KeyUsage; operation: string },
): Promise<KeyRecord> {
  const key = await ctx.keys.resolve({ by: ctx, keyId: req.keyId, accept: 'idArnOrAlias' })
  assertKeyState(key, 'use')
  assertKeyUsage(key, req.usage, req.operation)
  return key
}

const publicKeys = new WeakMap<KeyRecord, Buffer>()

/**
 * The DER SubjectPublicKeyInfo of a key pair, decoded once per cached record.
 *
 * @throws UnsupportedOperationException for a key that has no public key (symmetric, HMAC)
 */
export function publicKeyOf(key: KeyRecord, operation: string): Buffer {
  let der = publicKeys.get(key)
  if (!der) {
    if (!key.publicKey) {
      throw new UnsupportedOperationException(
        `${key.arn} key spec is ${key.keySpec} which is not valid for ${operation}.`,
      )
    }
    der = Buffer.from(key.publicKey, 'base64')
    publicKeys.set(key, der)
  }
  return der
}

/** The key's current private material (PKCS #8 DER, HMAC key or ML-DSA seed), unwrapped. */
export async function privateMaterialOf(ctx: OperationContext, key: KeyRecord): Promise<Buffer> {
  const material = await ctx.keys.material(key)
  // A key past the state check always has material; a record without it is corrupt.
  if (!material) throw new KMSInternalException(`${key.arn} has no key material.`)
  return material.material
}

/** A Sign or Verify request once checked: the algorithm's facts and the message type. */
export interface CheckedSigning {
  readonly algorithm: SigningAlgorithmFacts
  readonly messageType: MessageType
}

/**
 * The checks of Sign and Verify after the key's usage, in this order: the algorithm must be
 * one of the key spec's (InvalidKeyUsageException "Algorithm X is incompatible with key spec
 * Y."); the MessageType must be one the spec takes ("Message type DIGEST is incompatible with
 * key spec ML_DSA_44.", recorded by AWS) and one the algorithm takes (Ed25519: "Message type
 * RAW is incompatible with algorithm ED25519_PH_SHA_512.", measured by floci-io/floci#2930);
 * a DIGEST (or EXTERNAL_MU μ) must be as long as the algorithm's hash ("Digest is invalid
 * length for algorithm ECDSA_SHA_256.", recorded by AWS).
 */
export function checkSigning(
  key: KeyRecord,
  input: { SigningAlgorithm: SigningAlgorithm; MessageType?: MessageType; Message: Buffer },
): CheckedSigning {
  assertAlgorithm(key, 'signingAlgorithms', input.SigningAlgorithm)
  const algorithm = SIGNING_ALGORITHMS[input.SigningAlgorithm]
  const messageType = input.MessageType ?? 'RAW'
  if (!KEY_SPECS[key.keySpec].messageTypes.includes(messageType)) {
    throw new ValidationException(
      `Message type ${messageType} is incompatible with key spec ${key.keySpec}.`,
    )
  }
  if (algorithm.messageTypes && !algorithm.messageTypes.includes(messageType)) {
    throw new ValidationException(
      `Message type ${messageType} is incompatible with algorithm ${input.SigningAlgorithm}.`,
    )
  }
  if (messageType !== 'RAW' && input.Message.length !== algorithm.digestBytes) {
    throw new ValidationException(
      `Digest is invalid length for algorithm ${input.SigningAlgorithm}.`,
    )
  }
  return { algorithm, messageType }
}
