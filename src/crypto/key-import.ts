import {
  constants,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  type KeyObject,
} from 'node:crypto'
import { p256, p384, p521 } from '@noble/curves/nist.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sm2 } from 'sm-crypto-v2'
import type { WrappingAlgorithm, WrappingKeySpec } from '../domain/import-token.js'
import { SIGNING_ALGORITHMS, type KeyMaterialSpec } from '../domain/key-specs.js'
import { ecPrivateScalar, INTEGER, readTopSequence, SEQUENCE, spkiPublicKeyBits } from './der.js'
import type { GeneratedMaterial } from './family.js'
import { KEY_PAIR_OPERATIONS } from './operations.js'
import { generateDerKeyPair } from './key-objects.js'

/**
 * The cryptography of importing key material (Developer Guide, "Importing key material",
 * steps 2–4): the wrapping key pair, unwrapping what the caller encrypted with its public key,
 * and reading an imported private key. Pure: undefined for anything that does not unwrap or
 * parse, and the caller answers AWS's exception.
 */

/**
 * A fresh wrapping key pair (PKCS #8 and SPKI DER): RSA with exponent 65537, or an SM2 key for
 * the SM2 wrapping key spec.
 *
 * @example
 *   const { privateKey, publicKey } = await generateWrappingKeyPair('RSA_2048')
 */
export function generateWrappingKeyPair(spec: WrappingKeySpec): Promise<GeneratedMaterial> {
  if (spec === 'SM2') return generateDerKeyPair({ type: 'ec', namedCurve: 'SM2' })
  return generateDerKeyPair({ type: 'rsa', modulusLength: Number(spec.slice('RSA_'.length)) })
}

const OAEP_HASH = {
  RSAES_OAEP_SHA_1: 'sha1',
  RSAES_OAEP_SHA_256: 'sha256',
  RSA_AES_KEY_WRAP_SHA_1: 'sha1',
  RSA_AES_KEY_WRAP_SHA_256: 'sha256',
} as const

/** RFC 5649's alternative initial value, the IV `openssl enc -id-aes256-wrap-pad` needs. */
const KWP_IV = Buffer.from('a65959a6', 'hex')
const AES_256_BYTES = 32

/** RSAES-OAEP decryption, MGF1 with the same hash (OpenSSL's default); undefined on failure. */
function oaepDecrypt(key: KeyObject, hash: 'sha1' | 'sha256', ciphertext: Buffer) {
  try {
    return privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
      ciphertext,
    )
  } catch {
    return undefined
  }
}

/** AES key wrap with padding (RFC 5649) under a 256-bit key; undefined when the check fails. */
function kwpUnwrap(kek: Buffer, wrapped: Buffer): Buffer | undefined {
  try {
    const decipher = createDecipheriv('id-aes256-wrap-pad', kek, KWP_IV)
    return Buffer.concat([decipher.update(wrapped), decipher.final()])
  } catch {
    return undefined
  }
}

/**
 * The key material inside `encrypted`, or undefined when it does not unwrap (no reason: no
 * oracle).
 *
 * - RSAES_OAEP_SHA_1/256: RSAES-OAEP of the material itself (RFC 8017 §7.1).
 * - RSA_AES_KEY_WRAP_SHA_1/256: the two-step CKM_RSA_AES_KEY_WRAP of PKCS #11 as AWS documents
 *   it: RSAES-OAEP of a fresh 256-bit AES key (exactly one modulus long), followed by the
 *   material wrapped under that key with AES-KWP (RFC 5649).
 * - SM2PKE: SM2 public-key encryption (GB/T 32918.4; C1‖C3‖C2 in GM/T 0009's DER), as
 *   `openssl pkeyutl -encrypt` makes it with an SM2 key.
 */
export function unwrapKeyMaterial(req: {
  algorithm: WrappingAlgorithm
  wrappingPrivateKey: Buffer
  encrypted: Buffer
}): Buffer | undefined {
  const { algorithm, wrappingPrivateKey, encrypted } = req
  if (algorithm === 'SM2PKE') {
    return KEY_PAIR_OPERATIONS.decrypt({
      material: { kind: 'sm2' },
      privateKey: wrappingPrivateKey,
      algorithm: { scheme: 'sm2pke' },
      ciphertext: encrypted,
    })
  }
  const key = createPrivateKey({ key: wrappingPrivateKey, format: 'der', type: 'pkcs8' })
  const hash = OAEP_HASH[algorithm]
  if (algorithm === 'RSAES_OAEP_SHA_1' || algorithm === 'RSAES_OAEP_SHA_256') {
    return oaepDecrypt(key, hash, encrypted)
  }
  const k = Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8)
  if (encrypted.length <= k) return undefined
  const kek = oaepDecrypt(key, hash, encrypted.subarray(0, k))
  if (!kek || kek.length !== AES_256_BYTES) return undefined
  return kwpUnwrap(kek, encrypted.subarray(k))
}

/** The AlgorithmIdentifier contents of an SM2 key in PKCS #8: id-ecPublicKey, curve SM2. */
const SM2_ALGORITHM = Buffer.from('06072a8648ce3d020106082a811ccf5501822d', 'hex')
const NOBLE = { prime256v1: p256, secp384r1: p384, secp521r1: p521, secp256k1 } as const

/**
 * A pairwise-consistency test (FIPS 140-3 IG 10.3.A): sign with the private key, verify with
 * the public key derived from it. It catches a PKCS #8 whose embedded public key or CRT
 * parameters do not belong to its private key, which would otherwise sign wrongly (or leak the
 * key through faulty RSA-CRT signatures).
 */
const CONSISTENCY_ALGORITHM = {
  rsa: SIGNING_ALGORITHMS.RSASSA_PSS_SHA_256,
  ec: SIGNING_ALGORITHMS.ECDSA_SHA_256,
  sm2: SIGNING_ALGORITHMS.SM2DSA,
  ed25519: SIGNING_ALGORITHMS.ED25519_SHA_512,
} as const

function consistent(material: KeyMaterialSpec, pair: GeneratedMaterial): boolean {
  if (!(material.kind in CONSISTENCY_ALGORITHM)) return false
  const algorithm = CONSISTENCY_ALGORITHM[material.kind as keyof typeof CONSISTENCY_ALGORITHM]
  const message = Buffer.from('keyward imported key pairwise consistency test')
  const request = {
    material,
    publicKey: pair.publicKey!,
    algorithm,
    messageType: 'RAW' as const,
    message,
  }
  try {
    const signature = KEY_PAIR_OPERATIONS.sign({ ...request, privateKey: pair.privateKey })
    return KEY_PAIR_OPERATIONS.verify({ ...request, signature })
  } catch {
    return false
  }
}

/** Whether the parsed key is of the kind, size or curve the key spec names. */
function ofSpec(material: KeyMaterialSpec, key: KeyObject, der: Buffer): boolean {
  const details = key.asymmetricKeyDetails ?? {}
  switch (material.kind) {
    case 'rsa':
      return key.asymmetricKeyType === 'rsa' && details.modulusLength === material.modulusBits
    case 'ec':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === material.curve
    case 'ed25519':
      return key.asymmetricKeyType === 'ed25519'
    case 'sm2': {
      // node:crypto gives SM2 keys no type; the AlgorithmIdentifier says what the key is.
      const [, algorithm] = readTopSequence(der, [INTEGER, SEQUENCE])
      return key.asymmetricKeyType === undefined && algorithm!.content.equals(SM2_ALGORITHM)
    }
    default:
      return false
  }
}

/** The uncompressed public point d·G, computed apart from OpenSSL; undefined for a bad d. */
function publicPoint(material: KeyMaterialSpec, pkcs8: Buffer): Buffer | undefined {
  try {
    if (material.kind === 'ec') {
      const curve = NOBLE[material.curve]
      const d = ecPrivateScalar(pkcs8, curve.lengths.secretKey!)
      return Buffer.from(curve.getPublicKey(d, false))
    }
    if (material.kind === 'sm2') {
      const d = ecPrivateScalar(pkcs8, 32).toString('hex')
      return Buffer.from(sm2.getPublicKeyFromPrivateKey(d), 'hex')
    }
  } catch {
    return undefined
  }
  return undefined
}

/**
 * An imported private key, checked and re-encoded: the PKCS #8 DER as Keyward stores key pairs
 * and the SPKI DER public key derived from it ("For asymmetric key pairs, encrypt and import
 * only the private key. AWS KMS derives the public key from the private key", Developer Guide).
 * Undefined unless `der` is a PKCS #8 private key of exactly the spec's type, size or curve
 * whose parts belong together.
 *
 * @example
 *   readImportedPrivateKey(KEY_SPECS.ECC_NIST_P256.material, der)?.publicKey // SPKI DER
 */
export function readImportedPrivateKey(
  material: KeyMaterialSpec,
  der: Buffer,
): GeneratedMaterial | undefined {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    if (!ofSpec(material, key, der)) return undefined
  } catch {
    return undefined
  }
  const pair = {
    privateKey: key.export({ type: 'pkcs8', format: 'der' }),
    publicKey: createPublicKey(key).export({ type: 'spki', format: 'der' }),
  }
  if (material.kind === 'ec' || material.kind === 'sm2') {
    const point = publicPoint(material, pair.privateKey)
    if (!point || !point.equals(spkiPublicKeyBits(pair.publicKey))) return undefined
  }
  return consistent(material, pair) ? pair : undefined
}
