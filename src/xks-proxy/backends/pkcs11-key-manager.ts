import { randomBytes } from 'node:crypto'
import pkcs11js from 'pkcs11js'
import { ckrOf } from '../../adapters/pkcs11/hsm-errors.js'
import {
  aesKeyTemplate,
  Pkcs11Token,
  type TokenConnection,
} from '../../adapters/pkcs11/pkcs11-token.js'
import { invalidCiphertext } from '../ciphertext-format.js'
import {
  KeyExistsError,
  keyNotFound,
  keyUsageDenied,
  type EkmInfo,
  type ExternalKeyInfo,
  type SealedGcm,
  type XksKeyManager,
  type XksKeyUsage,
} from '../key-manager.js'

const IV_BYTES = 12
const TAG_BYTES = 16

/** PKCS#11 usage attributes and the GetKeyMetadata names the reference proxy reports. */
const USAGE_ATTRIBUTES: ReadonlyArray<readonly [number, string]> = [
  [pkcs11js.CKA_ENCRYPT, 'ENCRYPT'],
  [pkcs11js.CKA_DECRYPT, 'DECRYPT'],
  [pkcs11js.CKA_SIGN, 'SIGN'],
  [pkcs11js.CKA_VERIFY, 'VERIFY'],
  [pkcs11js.CKA_WRAP, 'WRAP'],
  [pkcs11js.CKA_UNWRAP, 'UNWRAP'],
  [pkcs11js.CKA_DERIVE, 'DERIVE'],
]

/** Key type names for keySpec (`<type>_<bits>`, as the reference proxy prints them). */
const KEY_TYPES: Readonly<Record<number, string>> = {
  [pkcs11js.CKK_AES]: 'AES',
  [pkcs11js.CKK_GENERIC_SECRET]: 'GENERIC_SECRET',
  [pkcs11js.CKK_DES3]: 'DES3',
}

/**
 * What a failed C_DecryptInit/C_Decrypt means (xks.md §1.5, after the reference proxy): a key
 * without CKA_DECRYPT, or a tag that does not verify. SoftHSMv2 reports a GCM tag mismatch as
 * CKR_GENERAL_ERROR, nShield as CKR_FUNCTION_FAILED.
 */
const BAD_CIPHERTEXT = new Set([
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  'CKR_GENERAL_ERROR',
  'CKR_FUNCTION_FAILED',
])
const WRONG_USAGE = new Set(['CKR_KEY_FUNCTION_NOT_PERMITTED', 'CKR_KEY_TYPE_INCONSISTENT'])
/** A cached handle that no longer names an object (the key was destroyed meanwhile). */
const STALE_HANDLE = new Set(['CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID'])
/**
 * How long a key's object handle is reused before the label is looked up again. Handles are
 * valid for every session of the application (PKCS#11 §2.4); a key another process destroyed
 * answers CKR_KEY_HANDLE_INVALID and is looked up at once, one it added under a taken label
 * is noticed within this time. Finding the object was a sixth of the proxy's CPU per request.
 */
const HANDLE_TTL_MS = 1000

/**
 * External keys in a PKCS#11 token (SoftHSMv2 in tests): the key of externalKeyId `id` is the
 * one secret-key object whose CKA_LABEL is `id` (zero or several: KeyNotFoundException, as the
 * reference proxy answers). Operations borrow sessions of {@link Pkcs11Token}'s pool, whose
 * asynchronous calls run off the event loop; the 12-byte IV comes from node's CSPRNG, since
 * SoftHSM cannot generate GCM IVs itself (xks.md §4, hsm_capabilities).
 *
 * @example
 *   const keys = await Pkcs11KeyManager.open({ modulePath, tokenLabel: 'xks', pin })
 *   await keys.createKey('foo', { usage: ['ENCRYPT'] })
 */
export class Pkcs11KeyManager implements XksKeyManager {
  readonly kind = 'pkcs11'
  readonly #token: Pkcs11Token
  readonly #handles = new Map<string, { handle: Buffer; at: number }>()

  private constructor(token: Pkcs11Token) {
    this.#token = token
  }

  /** Connects to the token and logs in. */
  static async open(connection: TokenConnection): Promise<Pkcs11KeyManager> {
    return new Pkcs11KeyManager(await Pkcs11Token.open(connection))
  }

  async describeKey(id: string): Promise<ExternalKeyInfo> {
    return this.#token.withSession((session, api) => {
      const key = findOnly(api, session, id)
      if (!key) throw keyNotFound(id)
      return describeObject(api, session, key)
    })
  }

  async encrypt(id: string, input: { plaintext: Buffer; aad: Buffer }): Promise<SealedGcm> {
    const iv = randomBytes(IV_BYTES)
    const sealed = await this.#token.withSession(async (session, api) => {
      try {
        this.#init(api, session, id, (key) => api.C_EncryptInit(session, gcm(iv, input.aad), key))
      } catch (error) {
        if (WRONG_USAGE.has(ckrOf(error) ?? '')) throw keyUsageDenied(id, 'ENCRYPT')
        throw error
      }
      const out = Buffer.alloc(input.plaintext.length + TAG_BYTES)
      return api.C_EncryptAsync(session, input.plaintext, out)
    })
    // The token appends the tag; the spec wants it apart.
    const split = sealed.length - TAG_BYTES
    return { iv, ciphertext: sealed.subarray(0, split), tag: sealed.subarray(split) }
  }

  async decrypt(id: string, input: SealedGcm & { aad: Buffer }): Promise<Buffer> {
    return this.#token.withSession(async (session, api) => {
      try {
        this.#init(api, session, id, (key) =>
          api.C_DecryptInit(session, gcm(input.iv, input.aad), key),
        )
      } catch (error) {
        if (WRONG_USAGE.has(ckrOf(error) ?? '')) throw keyUsageDenied(id, 'DECRYPT')
        throw error
      }
      try {
        const sealed = Buffer.concat([input.ciphertext, input.tag])
        return await api.C_DecryptAsync(session, sealed, Buffer.alloc(sealed.length))
      } catch (error) {
        if (BAD_CIPHERTEXT.has(ckrOf(error) ?? '')) throw invalidCiphertext()
        throw error
      }
    })
  }

  /**
   * Runs `init` (C_EncryptInit, C_DecryptInit) on the key labelled `id`, from the handle cache
   * when fresh; a stale handle is dropped and the label looked up once more.
   */
  #init(api: pkcs11js.PKCS11, session: Buffer, id: string, init: (key: Buffer) => void): void {
    const cached = this.#handles.get(id)
    if (cached && performance.now() - cached.at < HANDLE_TTL_MS) {
      try {
        init(cached.handle)
        return
      } catch (error) {
        if (!STALE_HANDLE.has(ckrOf(error) ?? '')) throw error
      }
    }
    this.#handles.delete(id)
    const key = findOnly(api, session, id)
    if (!key) throw keyNotFound(id)
    this.#handles.set(id, { handle: key, at: performance.now() })
    init(key)
  }

  async ekm(): Promise<EkmInfo> {
    return this.#token.withSession((session, api) => {
      const info = api.C_GetTokenInfo(api.C_GetSessionInfo(session).slotID)
      const version = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`
      return {
        vendor: info.manufacturerID.trim(),
        id: info.serialNumber.trim(),
        model: `${info.model.trim()} (label ${info.label.trim()}, hardware ${version(info.hardwareVersion)}, firmware ${version(info.firmwareVersion)})`,
      }
    })
  }

  /**
   * Generates a token-resident AES-256 key that is sensitive and never extractable, with
   * CKA_ENCRYPT and CKA_DECRYPT as `usage` says (pkcs11-tool cannot make encrypt-only or
   * decrypt-only secret keys, xks.md §5.3).
   */
  async createKey(id: string, options: { usage: readonly XksKeyUsage[] }): Promise<void> {
    await this.#token.withSession(async (session, api) => {
      if (findAll(api, session, id).length > 0) {
        throw new KeyExistsError(`A key labelled ${id} already exists on the token.`)
      }
      await api.C_GenerateKeyAsync(
        session,
        { mechanism: pkcs11js.CKM_AES_KEY_GEN },
        aesKeyTemplate({
          label: id,
          id,
          encrypt: options.usage.includes('ENCRYPT'),
          decrypt: options.usage.includes('DECRYPT'),
        }),
      )
    })
  }

  async deleteKey(id: string): Promise<boolean> {
    this.#handles.delete(id)
    return this.#token.withSession((session, api) => {
      const keys = findAll(api, session, id)
      for (const key of keys) api.C_DestroyObject(session, key)
      return keys.length > 0
    })
  }

  async listKeys(): Promise<Array<{ id: string } & ExternalKeyInfo>> {
    return this.#token.withSession((session, api) => {
      api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }])
      let handles: Buffer[]
      try {
        handles = api.C_FindObjects(session, 100_000)
      } finally {
        api.C_FindObjectsFinal(session)
      }
      return handles
        .map((h) => {
          const [label] = api.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_LABEL }])
          return { id: String(label?.value ?? ''), ...describeObject(api, session, h) }
        })
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    })
  }

  async close(): Promise<void> {
    this.#handles.clear()
    await this.#token.close()
  }
}

function gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: {
      type: pkcs11js.CK_PARAMS_AES_GCM,
      iv,
      ivBits: iv.length * 8,
      aad,
      tagBits: TAG_BYTES * 8,
    } as pkcs11js.GcmParams,
  }
}

function findAll(api: pkcs11js.PKCS11, session: Buffer, label: string): Buffer[] {
  api.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ])
  try {
    return api.C_FindObjects(session, 16)
  } finally {
    api.C_FindObjectsFinal(session)
  }
}

/** The one key labelled `label`; undefined when there is none or the label is ambiguous. */
function findOnly(api: pkcs11js.PKCS11, session: Buffer, label: string): Buffer | undefined {
  api.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ])
  try {
    const found = api.C_FindObjects(session, 2)
    return found.length === 1 ? found[0] : undefined
  } finally {
    api.C_FindObjectsFinal(session)
  }
}

/** CK_ULONG and CK_BBOOL attribute values as pkcs11js returns them (raw bytes). */
const ulong = (v: unknown) =>
  Buffer.isBuffer(v) && v.length > 0 ? v.readUIntLE(0, Math.min(v.length, 6)) : NaN
const bool = (v: unknown) => Buffer.isBuffer(v) && v.length > 0 && v[0] !== 0

function describeObject(api: pkcs11js.PKCS11, session: Buffer, key: Buffer): ExternalKeyInfo {
  const [type, length] = api.C_GetAttributeValue(session, key, [
    { type: pkcs11js.CKA_KEY_TYPE },
    { type: pkcs11js.CKA_VALUE_LEN },
  ])
  const flags = api.C_GetAttributeValue(
    session,
    key,
    USAGE_ATTRIBUTES.map(([t]) => ({ type: t })),
  )
  const typeName = KEY_TYPES[ulong(type?.value)] ?? `CKK_${ulong(type?.value)}`
  return {
    keySpec: `${typeName}_${ulong(length?.value) * 8}`,
    keyUsage: USAGE_ATTRIBUTES.filter((_, i) => bool(flags[i]?.value)).map(([, name]) => name),
  }
}
