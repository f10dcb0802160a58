import type { KeyMaterialSpec } from '../domain/key-specs.js'
import type { Random } from '../ports/random.js'
import type {
  DecryptRequest,
  DeriveRequest,
  EncryptRequest,
  GeneratedMaterial,
  SignRequest,
  VerifyRequest,
} from './family.js'
import { implementation } from './operations.js'
import { cryptoPool } from './pool.js'

export { hmac } from './secret.js'
export type { GeneratedMaterial } from './family.js'
export { KEY_PAIR_OPERATIONS } from './operations.js'

/**
 * Fresh key material of a spec: the bytes to store (wrapped) and, for key pairs, the public key.
 *
 * @example
 *   const { privateKey, publicKey } = await generateKeyMaterial(KEY_SPECS.ECC_NIST_P256.material, systemRandom)
 */
export function generateKeyMaterial(
  material: KeyMaterialSpec,
  random: Random,
): Promise<GeneratedMaterial> {
  return implementation(material, 'generate')(material, random)
}

/**
 * A signature in AWS's encoding (DER for ECDSA and SM2DSA, raw for RSA, EdDSA and ML-DSA),
 * computed on a crypto worker thread.
 *
 * @example
 *   await signMessage({ material, privateKey, publicKey, algorithm: SIGNING_ALGORITHMS.ECDSA_SHA_256, messageType: 'RAW', message })
 */
export function signMessage(req: SignRequest): Promise<Buffer> {
  return cryptoPool().run('sign', req)
}

/** Whether `signature` is a valid signature of the message under the public key. */
export function verifySignature(req: VerifyRequest): Promise<boolean> {
  return cryptoPool().run('verify', req)
}

/** Encrypts with the public key (RSAES-OAEP or SM2PKE); the plaintext length is checked before. */
export function encryptWithPublicKey(req: EncryptRequest): Promise<Buffer> {
  return cryptoPool().run('encrypt', req)
}

/** Decrypts with the private key; undefined for any ciphertext that does not decrypt. */
export function decryptWithPrivateKey(req: DecryptRequest): Promise<Buffer | undefined> {
  return cryptoPool().run('decrypt', req)
}

/** The raw ECDH secret with the peer's SPKI key; undefined when that key is not usable. */
export function deriveSharedSecret(req: DeriveRequest): Promise<Buffer | undefined> {
  return cryptoPool().run('derive', req)
}
