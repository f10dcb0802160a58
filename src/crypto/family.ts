import type {
  EncryptionAlgorithmFacts,
  KeyMaterialSpec,
  MessageType,
  SigningAlgorithmFacts,
} from '../domain/key-specs.js'
import type { Random } from '../ports/random.js'

/**
 * What one kind of key material (KeyMaterialSpec['kind']) can do. src/crypto/index.ts holds
 * the table of implementations; an operation the kind cannot do is absent, and the capability
 * table keeps such requests from ever reaching here.
 */
export interface KeyFamily {
  /** Fresh material: what is stored (wrapped) and, for key pairs, the SPKI DER public key. */
  generate(material: KeyMaterialSpec, random: Random): Promise<GeneratedMaterial>
  sign?(req: SignRequest): Buffer
  verify?(req: VerifyRequest): boolean
  encrypt?(req: EncryptRequest): Buffer
  /** Undefined when the ciphertext does not decrypt (no reason given: no oracle). */
  decrypt?(req: DecryptRequest): Buffer | undefined
  /** The raw shared secret; undefined when the peer key is not a key of the same curve. */
  deriveSharedSecret?(req: DeriveRequest): Buffer | undefined
}

export interface GeneratedMaterial {
  /** PKCS #8 DER private key, or raw bytes (AES key, HMAC key, ML-DSA seed). */
  readonly privateKey: Buffer
  /** DER SubjectPublicKeyInfo, for key pairs. */
  readonly publicKey?: Buffer
}

export interface SignRequest {
  readonly material: KeyMaterialSpec
  /** The stored private material (see {@link GeneratedMaterial.privateKey}). */
  readonly privateKey: Buffer
  /** The SPKI DER public key. */
  readonly publicKey: Buffer
  readonly algorithm: SigningAlgorithmFacts
  readonly messageType: MessageType
  /** The message, or its digest (DIGEST), or μ (EXTERNAL_MU), already length-checked. */
  readonly message: Buffer
}

export interface VerifyRequest extends Omit<SignRequest, 'privateKey'> {
  readonly signature: Buffer
}

export interface EncryptRequest {
  readonly material: KeyMaterialSpec
  readonly publicKey: Buffer
  readonly algorithm: EncryptionAlgorithmFacts
  readonly plaintext: Buffer
}

export interface DecryptRequest {
  readonly material: KeyMaterialSpec
  readonly privateKey: Buffer
  readonly algorithm: EncryptionAlgorithmFacts
  readonly ciphertext: Buffer
}

export interface DeriveRequest {
  readonly material: KeyMaterialSpec
  readonly privateKey: Buffer
  /** The peer's DER SubjectPublicKeyInfo, as the caller sent it. */
  readonly peerPublicKey: Buffer
}
