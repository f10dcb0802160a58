import { XksError } from './errors.js'
import type { XksKeyUsage } from '../adapters/store-sql/xks-proxy-store.js'

export type { XksKeyUsage } from '../adapters/store-sql/xks-proxy-store.js'

/**
 * The port behind the proxy: an external key manager holding AES keys, addressed by the
 * externalKeyId. Two adapters implement it: the local keystore (backends/local-key-manager.ts)
 * and a PKCS#11 token (backends/pkcs11-key-manager.ts). Whether a key is disabled is kept by
 * the proxy itself for both (XksProxyStore), so it is not part of this port.
 *
 * Errors are the spec's: KeyNotFoundException for an unknown id, InvalidKeyUsageException for
 * an operation the key does not permit, InvalidCiphertextException when decryption fails; any
 * other failure becomes InternalException at the edge.
 */
export interface XksKeyManager {
  /** 'local' or 'pkcs11', for logs. */
  readonly kind: string
  /** What the key is; KeyNotFoundException when there is none with that id. */
  describeKey(id: string): Promise<ExternalKeyInfo>
  /**
   * AES-GCM under key `id` with a fresh random 12-byte IV and a 16-byte tag; `aad` is the
   * complete AAD (the spec's layout is applied by the caller).
   */
  encrypt(id: string, input: { plaintext: Buffer; aad: Buffer }): Promise<SealedGcm>
  /** Opens what {@link encrypt} made; InvalidCiphertextException when the tag fails. */
  decrypt(id: string, input: SealedGcm & { aad: Buffer }): Promise<Buffer>
  /** The key manager behind the proxy, for GetHealthStatus's ekmVendor and ekmFleetDetails. */
  ekm(): Promise<EkmInfo>
  /** Creates an AES-256 key; {@link KeyExistsError} when the id is taken. */
  createKey(id: string, options: { usage: readonly XksKeyUsage[] }): Promise<void>
  /** Destroys key `id`; false when there was none. */
  deleteKey(id: string): Promise<boolean>
  /** Every key, in id order. */
  listKeys(): Promise<Array<{ id: string } & ExternalKeyInfo>>
  close(): Promise<void>
}

/** A key as GetKeyMetadata reports it (without the status). */
export interface ExternalKeyInfo {
  /** `AES_256` for a 256-bit AES key (spec, GetKeyMetadata). */
  readonly keySpec: string
  /** Upper-case usages: ENCRYPT, DECRYPT, and for PKCS#11 keys also SIGN, VERIFY, WRAP, … */
  readonly keyUsage: readonly string[]
}

/** AES-GCM output with the tag split off (the spec wants the three apart). */
export interface SealedGcm {
  readonly iv: Buffer
  readonly ciphertext: Buffer
  readonly tag: Buffer
}

/** Who the external key manager is. */
export interface EkmInfo {
  readonly vendor: string
  readonly id: string
  readonly model: string
}

/**
 * Thrown by {@link XksKeyManager.createKey} when the id is taken.
 *
 * @example
 *   if (error instanceof KeyExistsError) console.error(error.message)
 */
export class KeyExistsError extends Error {
  override readonly name = 'KeyExistsError'
}

/**
 * KeyNotFoundException for `id`.
 *
 * @example
 *   throw keyNotFound('foo')
 */
export function keyNotFound(id: string): XksError {
  return new XksError('KeyNotFoundException', `No external key with id ${id}.`)
}

/**
 * InvalidKeyUsageException: the key does not permit `operation`.
 *
 * @example
 *   throw keyUsageDenied('foo', 'DECRYPT')
 */
export function keyUsageDenied(id: string, usage: 'ENCRYPT' | 'DECRYPT'): XksError {
  return new XksError(
    'InvalidKeyUsageException',
    `External key ${id} does not permit ${usage === 'ENCRYPT' ? 'encryption' : 'decryption'}.`,
  )
}
