import { createHash, timingSafeEqual } from 'node:crypto'
import pkcs11js from 'pkcs11js'
import { ckrOf, HsmConnectionError, isLostSession } from './hsm-errors.js'
import { loadModule, type Pkcs11Module } from './pkcs11-module.js'

/** Where a token is and how to log into it. */
export interface TokenConnection {
  /** Path of the PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly modulePath: string
  /** The token's label; SoftHSM moves tokens between slot ids, so tokens are found by it… */
  readonly tokenLabel?: string
  /** …or by serial number. */
  readonly tokenSerial?: string
  /** The user PIN (CKU_USER). Never logged, never part of a message. */
  readonly pin: string
  /** Sessions kept open for concurrent operations (default 4, the libuv pool size). */
  readonly poolSize?: number
}

/** An AES-GCM operation on a key held in the token. */
export interface GcmInput {
  /** The key's CKA_LABEL. */
  readonly label: string
  /** 12 bytes. */
  readonly iv: Buffer
  readonly aad: Buffer
  readonly data: Buffer
}

/**
 * Thrown when a key label names no object on the token.
 *
 * @example
 *   if (error instanceof HsmKeyNotFoundError) throw materialMissing(key)
 */
export class HsmKeyNotFoundError extends Error {
  override readonly name = 'HsmKeyNotFoundError'
}

const GCM_TAG_BYTES = 16
const RW_SESSION = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION

/**
 * A logged-in PKCS#11 token with a pool of sessions. Every operation borrows a session through
 * {@link Pkcs11Token.withSession}, which returns it on every path; the crypto calls (key
 * generation, encrypt, decrypt) use pkcs11js's asynchronous variants, which run on the libuv
 * thread pool and keep the event loop free. When the library or the token restarts (sessions
 * invalid, library finalized), the token reconnects once and retries the operation.
 *
 * @example
 *   const token = await Pkcs11Token.open({ modulePath, tokenLabel: 'kms', pin })
 *   await token.generateAesKey({ label: keyArn, id: keyId })
 *   const sealed = await token.encryptGcm({ label: keyArn, iv, aad, data })
 *   await token.close()
 */
export class Pkcs11Token {
  readonly #connection: TokenConnection
  readonly #module: Pkcs11Module
  #idle: Buffer[] = []
  #open = 0
  #waiters: Array<{ resolve: (session: Buffer) => void; reject: (error: unknown) => void }> = []
  /** Bumped by each reconnect, so sessions of a previous connection are never returned. */
  #generation = 0
  #reconnecting: Promise<void> | undefined
  #closed = false

  private constructor(connection: TokenConnection, module: Pkcs11Module) {
    this.#connection = connection
    this.#module = module
  }

  /**
   * Loads the module, finds the token, opens a session, logs in and draws 16 random bytes as a
   * test call.
   *
   * @throws HsmConnectionError with the AWS ConnectionErrorCode of the failure
   */
  static async open(connection: TokenConnection): Promise<Pkcs11Token> {
    const token = new Pkcs11Token(connection, loadModule(connection.modulePath))
    try {
      token.#login()
      await token.random(16)
    } catch (error) {
      token.#dropSessions()
      throw error
    }
    return token
  }

  /** Human-readable name of the token, for messages (no PIN). */
  get description(): string {
    const { modulePath, tokenLabel, tokenSerial } = this.#connection
    const which = tokenLabel !== undefined ? `label ${tokenLabel}` : `serial ${tokenSerial}`
    return `token with ${which} in ${modulePath}`
  }

  /**
   * Runs `fn` with a session of the pool; the session goes back to the pool however `fn` ends.
   * If the session turns out lost (module or token restarted), reconnects and runs `fn` once
   * more on a new session.
   */
  async withSession<T>(fn: (session: Buffer, api: pkcs11js.PKCS11) => Promise<T> | T): Promise<T> {
    try {
      return await this.#borrow(fn)
    } catch (error) {
      if (!isLostSession(error) || this.#closed) throw error
      await this.#reconnect()
      return this.#borrow(fn)
    }
  }

  /** Random bytes drawn by the token (C_GenerateRandom). */
  random(length: number): Promise<Buffer> {
    return this.withSession((session, api) => api.C_GenerateRandom(session, Buffer.alloc(length)))
  }

  /**
   * Generates a token-resident AES-256 key that is sensitive and never extractable, usable
   * only for encrypt and decrypt (xks.md §5.2).
   */
  generateAesKey(input: { label: string; id: string }): Promise<void> {
    return this.withSession(async (session, api) => {
      await api.C_GenerateKeyAsync(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
        { type: pkcs11js.CKA_SIGN, value: false },
        { type: pkcs11js.CKA_VERIFY, value: false },
        { type: pkcs11js.CKA_DERIVE, value: false },
        { type: pkcs11js.CKA_LABEL, value: input.label },
        { type: pkcs11js.CKA_ID, value: Buffer.from(input.id, 'utf8') },
      ])
    })
  }

  /** Whether a secret key labelled `label` is on the token. */
  hasKey(label: string): Promise<boolean> {
    return this.withSession((session, api) => findKey(api, session, label) !== undefined)
  }

  /**
   * Destroys the key labelled `label` (every object with that label); false when there was
   * none.
   */
  destroyKey(label: string): Promise<boolean> {
    return this.withSession((session, api) => {
      let destroyed = false
      for (let key = findKey(api, session, label); key; key = findKey(api, session, label)) {
        api.C_DestroyObject(session, key)
        destroyed = true
      }
      return destroyed
    })
  }

  /**
   * AES-256-GCM inside the token with a 128-bit tag; returns ciphertext ‖ tag.
   *
   * @throws HsmKeyNotFoundError when no key has that label
   */
  encryptGcm(input: GcmInput): Promise<Buffer> {
    return this.withSession(async (session, api) => {
      api.C_EncryptInit(session, gcmMechanism(input), requireKey(api, session, input.label))
      return api.C_EncryptAsync(
        session,
        input.data,
        Buffer.alloc(input.data.length + GCM_TAG_BYTES),
      )
    })
  }

  /**
   * Opens ciphertext ‖ tag made by {@link encryptGcm}.
   *
   * @throws HsmKeyNotFoundError when no key has that label; a pkcs11js error (SoftHSM says
   *   CKR_GENERAL_ERROR) when the tag does not verify
   */
  decryptGcm(input: GcmInput): Promise<Buffer> {
    return this.withSession(async (session, api) => {
      api.C_DecryptInit(session, gcmMechanism(input), requireKey(api, session, input.label))
      return api.C_DecryptAsync(session, input.data, Buffer.alloc(input.data.length))
    })
  }

  /**
   * Closes every session. No C_Logout: the login is shared by every session of this process
   * on the token (PKCS#11 §5.6), so another Pkcs11Token of the same token would be logged out
   * too; the token logs the application out when its last session closes. The module stays
   * loaded for other tokens.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#reconnecting?.catch(() => undefined)
    const api = this.#module.api
    const sessions = this.#idle
    this.#idle = []
    for (const session of sessions) ignoreFailure(() => api.C_CloseSession(session))
    this.#open = 0
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new HsmConnectionError('INTERNAL_ERROR', `${this.description} is closed.`))
    }
  }

  async #borrow<T>(fn: (session: Buffer, api: pkcs11js.PKCS11) => Promise<T> | T): Promise<T> {
    const generation = this.#generation
    const session = await this.#acquire()
    let lost = false
    try {
      return await fn(session, this.#module.api)
    } catch (error) {
      lost = isLostSession(error)
      throw error
    } finally {
      this.#release(session, generation, lost)
    }
  }

  async #acquire(): Promise<Buffer> {
    if (this.#closed)
      throw new HsmConnectionError('INTERNAL_ERROR', `${this.description} is closed.`)
    await this.#reconnecting
    const idle = this.#idle.pop()
    if (idle) return idle
    if (this.#open < (this.#connection.poolSize ?? 4)) return this.#openSession()
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  #openSession(): Buffer {
    this.#open++
    try {
      return this.#module.api.C_OpenSession(this.#findSlot(), RW_SESSION)
    } catch (error) {
      this.#open--
      throw error
    }
  }

  /** Returns a session to the pool, or discards it when it is lost or stale. */
  #release(session: Buffer, generation: number, lost: boolean): void {
    const current = generation === this.#generation && !this.#closed
    if (current && !lost) {
      const waiter = this.#waiters.shift()
      if (waiter) waiter.resolve(session)
      else this.#idle.push(session)
      return
    }
    if (current) this.#open--
    // A waiter must not wait for a session that will never come back: open it a new one.
    const waiter = this.#closed ? undefined : this.#waiters.shift()
    if (waiter) {
      try {
        waiter.resolve(this.#idle.pop() ?? this.#openSession())
      } catch (error) {
        waiter.reject(error)
      }
    }
  }

  /** Opens the first session and logs in (login state is shared by the app's sessions). */
  #login(): void {
    const api = this.#module.api
    const slot = this.#findSlot()
    const serial = api.C_GetTokenInfo(slot).serialNumber.trim()
    const pinHash = createHash('sha256').update(this.#connection.pin, 'utf8').digest()
    const session = api.C_OpenSession(slot, RW_SESSION)
    try {
      api.C_Login(session, pkcs11js.CKU_USER, this.#connection.pin)
      this.#module.logins.set(serial, pinHash)
    } catch (cause) {
      ignoreFailure(() => {
        if (ckrOf(cause) !== 'CKR_USER_ALREADY_LOGGED_IN') api.C_CloseSession(session)
      })
      if (ckrOf(cause) !== 'CKR_USER_ALREADY_LOGGED_IN') {
        throw new HsmConnectionError(
          connectionCodeForLogin(cause),
          `Login to ${this.description} failed (${ckrOf(cause) ?? 'error'}).`,
          { cause },
        )
      }
      this.#checkSharedLogin(serial, pinHash, session)
    }
    this.#open++
    this.#idle.push(session)
  }

  /**
   * The token was already logged in by this process: accept only the PIN that logged it in,
   * or a wrong PIN would connect as long as another store of the same token is connected.
   */
  #checkSharedLogin(serial: string, pinHash: Buffer, session: Buffer): void {
    const known = this.#module.logins.get(serial)
    if (known && timingSafeEqual(known, pinHash)) return
    ignoreFailure(() => this.#module.api.C_CloseSession(session))
    throw new HsmConnectionError(
      known ? 'INVALID_CREDENTIALS' : 'USER_LOGGED_IN',
      known
        ? `Login to ${this.description} failed (CKR_PIN_INCORRECT).`
        : `The user of ${this.description} is already logged in.`,
    )
  }

  /**
   * Forgets every session of the current connection and logs in again; concurrent callers
   * share one attempt.
   */
  #reconnect(): Promise<void> {
    this.#reconnecting ??= Promise.resolve()
      .then(() => {
        this.#dropSessions()
        this.#module.ensureInitialized()
        this.#login()
      })
      .finally(() => {
        this.#reconnecting = undefined
      })
    return this.#reconnecting
  }

  #dropSessions(): void {
    const api = this.#module.api
    for (const session of this.#idle) ignoreFailure(() => api.C_CloseSession(session))
    this.#idle = []
    this.#open = 0
    this.#generation++
  }

  #findSlot(): Buffer {
    const api = this.#module.api
    const { tokenLabel, tokenSerial } = this.#connection
    for (const slot of api.C_GetSlotList(true)) {
      const info = api.C_GetTokenInfo(slot)
      if (tokenLabel !== undefined && info.label.trimEnd() === tokenLabel) return slot
      if (tokenSerial !== undefined && info.serialNumber.trim() === tokenSerial) return slot
    }
    throw new HsmConnectionError('CLUSTER_NOT_FOUND', `No ${this.description}.`)
  }
}

/**
 * The serial number of the token a connection names, found without logging in; undefined when
 * the module or the token cannot be found. Two connections that name a token differently (by
 * label, by serial) reach the same keys when this matches.
 *
 * @example
 *   findTokenSerial({ modulePath, tokenLabel: 'kms' }) // 'c5a78274b5ac279a'
 */
export function findTokenSerial(
  connection: Pick<TokenConnection, 'modulePath' | 'tokenLabel' | 'tokenSerial'>,
): string | undefined {
  try {
    const api = loadModule(connection.modulePath).api
    for (const slot of api.C_GetSlotList(true)) {
      const info = api.C_GetTokenInfo(slot)
      const serial = info.serialNumber.trim()
      if (connection.tokenLabel !== undefined && info.label.trimEnd() === connection.tokenLabel)
        return serial
      if (connection.tokenSerial !== undefined && serial === connection.tokenSerial) return serial
    }
  } catch {
    // An absent module or token has no serial.
  }
  return undefined
}

function connectionCodeForLogin(cause: unknown) {
  switch (ckrOf(cause)) {
    case 'CKR_PIN_INCORRECT':
    case 'CKR_PIN_INVALID':
    case 'CKR_PIN_LEN_RANGE':
    case 'CKR_PIN_EXPIRED':
      return 'INVALID_CREDENTIALS' as const
    case 'CKR_PIN_LOCKED':
      return 'USER_LOCKED_OUT' as const
    case 'CKR_USER_PIN_NOT_INITIALIZED':
      return 'USER_NOT_FOUND' as const
    case 'CKR_USER_ANOTHER_ALREADY_LOGGED_IN':
      return 'USER_LOGGED_IN' as const
    default:
      return 'INTERNAL_ERROR' as const
  }
}

function gcmMechanism(input: GcmInput): pkcs11js.Mechanism {
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: {
      type: pkcs11js.CK_PARAMS_AES_GCM,
      iv: input.iv,
      ivBits: input.iv.length * 8,
      aad: input.aad,
      tagBits: GCM_TAG_BYTES * 8,
    } as pkcs11js.GcmParams,
  }
}

function findKey(api: pkcs11js.PKCS11, session: Buffer, label: string): Buffer | undefined {
  api.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ])
  try {
    return api.C_FindObjects(session) ?? undefined
  } finally {
    api.C_FindObjectsFinal(session)
  }
}

function requireKey(api: pkcs11js.PKCS11, session: Buffer, label: string): Buffer {
  const key = findKey(api, session, label)
  if (!key) throw new HsmKeyNotFoundError(`No key labelled ${label} on the token.`)
  return key
}

function ignoreFailure(fn: () => void): void {
  try {
    fn()
  } catch {
    // Closing what is already gone (a finalized module, a removed token) is not an error.
  }
}
