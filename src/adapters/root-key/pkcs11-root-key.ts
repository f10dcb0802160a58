import { createHash, randomBytes } from 'node:crypto'
import { HsmKeyNotFoundError, Pkcs11Token } from '../pkcs11/pkcs11-token.js'
import type { RootKey } from '../../ports/root-key.js'

const VERSION = 0x02
const IV_BYTES = 12
const TAG_BYTES = 16

/** Where the root key lives: a PKCS#11 URI (RFC 7512), without any secret. */
export interface Pkcs11RootKeyLocation {
  readonly modulePath: string
  readonly tokenLabel?: string
  readonly tokenSerial?: string
  /** CKA_LABEL of the AES-256 key. */
  readonly objectLabel: string
}

/**
 * Parses the subset of RFC 7512 PKCS#11 URIs Keyward needs:
 * `pkcs11:token=<label>;object=<label>?module-path=<path>` (or `serial=` for the token).
 * Values are percent-decoded. A PIN in the URI (`pin-value`) is refused: command lines are
 * visible to every user of the machine; the PIN comes from KEYWARD_ROOT_KEY_PIN.
 *
 * @throws Error naming what is wrong (never echoing a PIN)
 * @example
 *   parsePkcs11Uri('pkcs11:token=keyward;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so')
 */
export function parsePkcs11Uri(uri: string): Pkcs11RootKeyLocation {
  if (!uri.startsWith('pkcs11:')) throw new Error('a PKCS#11 root key URI starts with "pkcs11:"')
  const [path = '', query = ''] = uri.slice('pkcs11:'.length).split('?', 2)
  const attributes = new Map<string, string>()
  const read = (part: string, separator: string) => {
    for (const pair of part.split(separator).filter(Boolean)) {
      const at = pair.indexOf('=')
      const name = at < 0 ? pair : pair.slice(0, at)
      if (name === 'pin-value')
        throw new Error('refusing pin-value in the URI: set KEYWARD_ROOT_KEY_PIN')
      if (at < 0) throw new Error(`PKCS#11 URI attribute ${name} has no value`)
      attributes.set(name, decodeURIComponent(pair.slice(at + 1)))
    }
  }
  read(path, ';')
  read(query, '&')
  const modulePath = attributes.get('module-path')
  const objectLabel = attributes.get('object')
  const tokenLabel = attributes.get('token')
  const tokenSerial = attributes.get('serial')
  if (!modulePath) throw new Error('the PKCS#11 URI needs ?module-path=<PKCS#11 library>')
  if (!objectLabel) throw new Error('the PKCS#11 URI needs object=<key label>')
  if ((tokenLabel === undefined) === (tokenSerial === undefined)) {
    throw new Error('the PKCS#11 URI needs exactly one of token=<label> and serial=<serial>')
  }
  return {
    modulePath,
    objectLabel,
    ...(tokenLabel !== undefined ? { tokenLabel } : {}),
    ...(tokenSerial !== undefined ? { tokenSerial } : {}),
  }
}

/**
 * The root key as a non-extractable AES-256 key in a PKCS#11 token: every wrap and unwrap is
 * AES-256-GCM done by the token (blob = 0x02 ‖ 12-byte random IV ‖ ciphertext ‖ tag, the
 * context string as AAD, as the software root key). The key is generated in the token on
 * first start. Its fingerprint is a key check value: the token's GCM tag over a fixed block
 * under a fixed IV, hashed, so that it identifies the key without revealing anything of it.
 *
 * @example
 *   const root = await Pkcs11RootKey.open(parsePkcs11Uri(uri), { pin })
 *   const wrapped = await root.wrap(material, context)
 */
export class Pkcs11RootKey implements RootKey {
  readonly fingerprint: string
  readonly #token: Pkcs11Token
  readonly #label: string

  private constructor(token: Pkcs11Token, label: string, fingerprint: string) {
    this.#token = token
    this.#label = label
    this.fingerprint = fingerprint
  }

  /**
   * Logs into the token and finds the key, creating it when the token has none with that
   * label (`created` says which).
   *
   * @throws HsmConnectionError when the module, the token or the login fails
   */
  static async open(
    location: Pkcs11RootKeyLocation,
    secrets: {
      pin: string
      /**
       * A database at this path already records a root key: the token must hold it. A new key
       * there would be the wrong one, and its fingerprint check would come only after it was
       * made, leaving a stray key in the token where the operator looks for the real one.
       */
      recordedIn?: string
    },
  ): Promise<{ rootKey: Pkcs11RootKey; created: boolean }> {
    const token = await Pkcs11Token.open({
      modulePath: location.modulePath,
      ...(location.tokenLabel !== undefined ? { tokenLabel: location.tokenLabel } : {}),
      ...(location.tokenSerial !== undefined ? { tokenSerial: location.tokenSerial } : {}),
      pin: secrets.pin,
    })
    try {
      const created = !(await token.hasKey(location.objectLabel))
      if (created && secrets.recordedIn !== undefined) {
        throw new Error(
          `The token has no key labelled ${location.objectLabel}, but the database ${secrets.recordedIn} records a root key; refusing to create a new one (the keys would be unreadable). Restore the token's key, or point --root-key at the token that holds it.`,
        )
      }
      if (created) await token.generateAesKey({ label: location.objectLabel, id: 'keyward-root' })
      const check = await token.encryptGcm({
        label: location.objectLabel,
        iv: Buffer.alloc(IV_BYTES),
        aad: Buffer.from('keyward root key fingerprint v1', 'utf8'),
        data: Buffer.alloc(16),
      })
      const fingerprint = createHash('sha256').update(check).digest('hex').slice(0, 32)
      return { rootKey: new Pkcs11RootKey(token, location.objectLabel, fingerprint), created }
    } catch (error) {
      await token.close()
      throw error
    }
  }

  async wrap(plaintext: Buffer, context: string): Promise<Buffer> {
    const iv = randomBytes(IV_BYTES)
    const sealed = await this.#token.encryptGcm({
      label: this.#label,
      iv,
      aad: Buffer.from(context, 'utf8'),
      data: plaintext,
    })
    return Buffer.concat([Buffer.from([VERSION]), iv, sealed])
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    if (wrapped[0] !== VERSION || wrapped.length < 1 + IV_BYTES + TAG_BYTES) {
      throw new Error('wrapped material has an unknown format')
    }
    try {
      return await this.#token.decryptGcm({
        label: this.#label,
        iv: wrapped.subarray(1, 1 + IV_BYTES),
        aad: Buffer.from(context, 'utf8'),
        data: wrapped.subarray(1 + IV_BYTES),
      })
    } catch (cause) {
      if (cause instanceof HsmKeyNotFoundError) throw cause
      throw new Error('wrapped material does not open under this root key and context', { cause })
    }
  }

  /** Closes the token's sessions. */
  close(): Promise<void> {
    return this.#token.close()
  }
}
