import type { KeyMaterialSpec, MaterialKind } from '../domain/key-specs.js'
import type { Random } from '../ports/random.js'
import { ecFamily } from './ec.js'
import { ed25519Family } from './ed25519.js'
import type {
  DecryptRequest,
  DeriveRequest,
  EncryptRequest,
  GeneratedMaterial,
  KeyFamily,
  SignRequest,
  VerifyRequest,
} from './family.js'
import { mlDsaFamily } from './ml-dsa.js'
import { rsaFamily } from './rsa.js'
import { aesFamily, hmacFamily } from './secret.js'
import { sm2Family } from './sm2.js'
import { cryptoPool } from './pool.js'

export { hmac } from './secret.js'
export type { GeneratedMaterial } from './family.js'

/**
 * The software cryptography of every key spec, one implementation per kind of material
 * (KEY_SPECS[spec].material.kind). Pure: no I/O, no AWS errors; callers map "does not verify",
 * "does not decrypt" and "not a usable peer key" to the exceptions AWS sends.
 */
const FAMILIES: Readonly<Record<MaterialKind, KeyFamily>> = {
  aes: aesFamily,
  hmac: hmacFamily,
  rsa: rsaFamily,
  ec: ecFamily,
  sm2: sm2Family,
  ed25519: ed25519Family,
  'ml-dsa': mlDsaFamily,
}

/** The implementation of `op` for a kind; the capability table guarantees it exists. */
function implementation<Op extends keyof KeyFamily>(
  material: KeyMaterialSpec,
  op: Op,
): NonNullable<KeyFamily[Op]> {
  const fn = FAMILIES[material.kind][op]
  if (!fn) throw new Error(`${material.kind} keys cannot ${op}`)
  return fn as NonNullable<KeyFamily[Op]>
}

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
 * The key-pair operations, synchronous, as the crypto worker threads run them
 * (src/crypto/pool-worker.ts). Request handlers use the asynchronous functions below, so that
 * a 20 ms ML-DSA signature or an RSA-4096 decryption never stalls the event loop.
 */
export const KEY_PAIR_OPERATIONS = {
  sign: (req: SignRequest): Buffer => implementation(req.material, 'sign')(req),
  verify: (req: VerifyRequest): boolean => implementation(req.material, 'verify')(req),
  encrypt: (req: EncryptRequest): Buffer => implementation(req.material, 'encrypt')(req),
  decrypt: (req: DecryptRequest): Buffer | undefined =>
    implementation(req.material, 'decrypt')(req),
  derive: (req: DeriveRequest): Buffer | undefined =>
    implementation(req.material, 'deriveSharedSecret')(req),
} as const

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
