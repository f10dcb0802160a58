import { generateKeyMaterial } from '../../crypto/index.js'
import { openCiphertext, readCiphertextHeader, sealCiphertext } from '../../domain/ciphertext.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import { noKeyMaterial } from '../../domain/key-availability.js'
import { KEY_SPECS } from '../../domain/key-specs.js'
import type {
  BackendAvailability,
  BackendKey,
  GeneratedMaterial,
  KeyMaterialBackend,
  MaterialSource,
} from '../../ports/key-material-backend.js'
import type { Random } from '../../ports/random.js'
import { InvalidCiphertextException } from '../../domain/errors/exceptions.js'

/**
 * The software backend: keys of Origin AWS_KMS and EXTERNAL, whose material Keyward keeps
 * wrapped under the root key in the key store, and seals and opens with in this process
 * (format version 1 of src/domain/ciphertext.ts). Also the first layer of double encryption
 * under the XKS backend, which shares its {@link MaterialSource}.
 *
 * @example
 *   const software = new SoftwareBackend({ materials: keys, random })
 *   const { blob } = await software.seal(key, { plaintext, call })
 */
export class SoftwareBackend implements KeyMaterialBackend {
  readonly kind = 'software'
  readonly #materials: MaterialSource
  readonly #random: Random

  constructor(deps: { materials: MaterialSource; random: Random }) {
    this.#materials = deps.materials
    this.#random = deps.random
  }

  /** Material of the kind KEY_SPECS names (AES key, key pair, HMAC key, ML-DSA seed). */
  async generate(key: BackendKey): Promise<GeneratedMaterial> {
    const generated = await generateKeyMaterial(KEY_SPECS[key.keySpec].material, this.#random)
    return {
      bytes: generated.privateKey,
      ...(generated.publicKey ? { publicKey: generated.publicKey } : {}),
    }
  }

  async seal(
    key: BackendKey,
    options: { plaintext: Buffer; context?: EncryptionContext | undefined },
  ): Promise<{ blob: Buffer; keyMaterialId: string }> {
    const sealing = await this.#materials.material(key)
    if (!sealing) throw noKeyMaterial(key)
    const blob = sealCiphertext(
      { key: sealing, plaintext: options.plaintext, context: options.context },
      this.#random,
    )
    return { blob, keyMaterialId: sealing.keyMaterialId }
  }

  /** Opens with the material the blob's header names (any of the key's materials). */
  async open(
    key: BackendKey,
    options: { blob: Buffer; context?: EncryptionContext | undefined },
  ): Promise<{ plaintext: Buffer; keyMaterialId: string }> {
    const header = readCiphertextHeader(options.blob)
    const sealing = header && (await this.#materials.material(key, header.keyMaterialId))
    if (!sealing) throw new InvalidCiphertextException()
    const plaintext = openCiphertext({ blob: options.blob, key: sealing, context: options.context })
    return { plaintext, keyMaterialId: sealing.keyMaterialId }
  }

  /** Nothing to do: the wrapped material is deleted with the key's record (KeyService.destroy). */
  async destroy(): Promise<void> {}

  /** Node's CSPRNG, through the Random port. */
  async random(length: number): Promise<Buffer> {
    return this.#random.bytes(length)
  }

  /** Always available: the material is in this process's key store. */
  async availability(): Promise<BackendAvailability> {
    return { state: 'AVAILABLE' }
  }

  async disconnect(): Promise<void> {}

  async close(): Promise<void> {}
}
