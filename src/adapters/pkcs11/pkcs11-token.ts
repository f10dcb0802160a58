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
  /** How key generation, encryption and decryption are called (default 'async'). */
  readonly callMode?: CallMode
}

/**
 * How the token's cryptographic calls are made through pkcs11js.
 *
 * - `async` (the default): C_GenerateKey, C_Encrypt and C_Decrypt run on libuv's thread pool
 *   and the event loop stays free while the token works, however long it takes. Right for a
 *   network HSM, whose every call waits for a round trip (CloudHSM, a Luna or nShield over the
 *   network: hundreds of µs to milliseconds), and the only safe choice when the module's
 *   latency is not known.
 * - `sync`: the calls run on the event loop. Each is about twice as cheap in CPU (no hop to a
 *   pool thread and back), which pays for a module that answers in microseconds from this
 *   machine's memory (SoftHSMv2, a PCIe HSM); with a network HSM every request of the process
 *   would wait for every other request's round trip.
 *
 * C_EncryptInit and C_DecryptInit are synchronous in either mode: pkcs11js has no asynchronous
 * form of them.
 */
export type CallMode = 'async' | 'sync'

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
/**
 * How long a cached object handle is used before the key is looked up again. The handle of a
 * destroyed object is normally refused (CKR_OBJECT_HANDLE_INVALID, then the lookup says the key
 * is missing), but PKCS#11 does not forbid a module to give a destroyed object's handle to a
 * new object: the lookup a minute later bounds how long such a reuse could go unnoticed.
 */
const HANDLE_TTL_MS = 60_000
/** What a module answers for the handle of an object that no longer exists. */
const STALE_HANDLE_CODES = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID'])
const RW_SESSION = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION

/**
 * A logged-in PKCS#11 token with a pool of sessions. Every operation borrows a session through
 * {@link Pkcs11Token.withSession}, which returns it on every path; the crypto calls (key
 * generation, encrypt, decrypt) use pkcs11js's asynchronous variants, which run on the libuv
 * thread pool and keep the event loop free, unless the connection asks for the synchronous ones
 * ({@link CallMode}). Keys are found by label once and their object handles kept. When the
 * library or the token restarts (sessions invalid, library finalized), the token reconnects
 * once and retries the operation.
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
  /** {@link CallMode} 'sync'. */
  readonly #sync: boolean
  #idle: Buffer[] = []
  #open = 0
  #waiters: Array<{ resolve: (session: Buffer) => void; reject: (error: unknown) => void }> = []
  /** Bumped by each reconnect, so sessions of a previous connection are never returned. */
  #generation = 0
  #reconnecting: Promise<void> | undefined
  #closed = false
  /** The module's {@link Pkcs11Module.initializations} when this connection logged in. */
  #moduleInitialization = 0
  /**
   * Object handles of keys by label, for the current connection ({@link #generation}). PKCS#11
   * v2.40 (base specification, CK_OBJECT_HANDLE): a handle a session could use "will continue
   * to be able to use ... as long as the session continues to exist, the object continues to
   * exist, and the object continues to be accessible"; the usage guide adds that an object is
   * visible through a handle alike in all of the application's sessions (SoftHSM: tested). The
   * pool keeps its sessions open until a reconnect, so one C_FindObjects per key and connection
   * is enough, where a search per operation cost 30 µs on SoftHSM with one key on the token and
   * 930 µs with fifty. Dropped with the sessions, when an operation says the handle is invalid
   * (the object was destroyed behind Keyward's back), and after {@link HANDLE_TTL_MS}.
   */
  #handles = new Map<string, { handle: Buffer; generation: number; foundAt: number }>()

  private constructor(connection: TokenConnection, module: Pkcs11Module) {
    this.#connection = connection
    this.#module = module
    this.#sync = connection.callMode === 'sync'
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

  /**
   * How the session pool is used right now (for the HSM session pool metrics): sessions open,
   * idle among them, the pool's size, and callers waiting for a session.
   *
   * @example
   *   const { open, idle, size, waiting } = token.sessionPool()
   */
  sessionPool(): { open: number; idle: number; size: number; waiting: number } {
    return {
      open: this.#open,
      idle: this.#idle.length,
      size: this.#connection.poolSize ?? 4,
      waiting: this.#waiters.length,
    }
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
    // Another connection to the same module reinitialized it (a module restart): session and
    // object handles start again from 1, so ours may now name another token's sessions and
    // objects. Reconnect before using any of them.
    if (this.#module.initializations !== this.#moduleInitialization && !this.#closed) {
      await this.#reconnect()
    }
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
    const mechanism = { mechanism: pkcs11js.CKM_AES_KEY_GEN }
    const template = aesKeyTemplate({ ...input, encrypt: true, decrypt: true })
    return this.withSession(async (session, api) => {
      this.#handles.delete(input.label)
      if (this.#sync) api.C_GenerateKey(session, mechanism, template)
      else await api.C_GenerateKeyAsync(session, mechanism, template)
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
      this.#handles.delete(label)
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
      this.#initWithKey(session, input.label, (key) =>
        api.C_EncryptInit(session, gcmMechanism(input), key),
      )
      const out = Buffer.alloc(input.data.length + GCM_TAG_BYTES)
      return this.#sync
        ? api.C_Encrypt(session, input.data, out)
        : api.C_EncryptAsync(session, input.data, out)
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
      this.#initWithKey(session, input.label, (key) =>
        api.C_DecryptInit(session, gcmMechanism(input), key),
      )
      const out = Buffer.alloc(input.data.length)
      return this.#sync
        ? api.C_Decrypt(session, input.data, out)
        : api.C_DecryptAsync(session, input.data, out)
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

  /**
   * Calls `init` (C_EncryptInit or C_DecryptInit) with the handle of the key labelled `label`:
   * the cached one when there is one, else (or when the token says the cached handle is no
   * longer valid) the one C_FindObjects finds, which is then cached.
   *
   * @throws HsmKeyNotFoundError when no key has that label
   */
  #initWithKey(session: Buffer, label: string, init: (key: Buffer) => void): void {
    const cached = this.#handles.get(label)
    if (
      cached?.generation === this.#generation &&
      performance.now() - cached.foundAt < HANDLE_TTL_MS
    ) {
      try {
        init(cached.handle)
        return
      } catch (error) {
        if (!isStaleHandle(error)) throw error
      }
    }
    this.#handles.delete(label)
    const generation = this.#generation
    const key = requireKey(this.#module.api, session, label)
    init(key)
    // A reconnect that ran meanwhile made the handle meaningless: do not keep it.
    if (generation === this.#generation) {
      this.#handles.set(label, { handle: key, generation, foundAt: performance.now() })
    }
  }

  async #borrow<T>(fn: (session: Buffer, api: pkcs11js.PKCS11) => Promise<T> | T): Promise<T> {
    const session = await this.#acquire()
    // Read after #acquire, which may have waited for a reconnect: the session is of this one.
    const generation = this.#generation
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
    this.#moduleInitialization = this.#module.initializations
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
    this.#handles.clear()
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

/**
 * The template of a token-resident AES-256 key: private, sensitive, never extractable, for
 * encryption and/or decryption only (xks.md §5.2). Custom key store keys take both usages;
 * the XKS proxy's PKCS#11 backend also makes encrypt-only and decrypt-only keys.
 *
 * @example
 *   api.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, aesKeyTemplate({ label, id, encrypt: true, decrypt: true }))
 */
export function aesKeyTemplate(key: {
  label: string
  id: string
  encrypt: boolean
  decrypt: boolean
}): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: key.encrypt },
    { type: pkcs11js.CKA_DECRYPT, value: key.decrypt },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_SIGN, value: false },
    { type: pkcs11js.CKA_VERIFY, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
    { type: pkcs11js.CKA_LABEL, value: key.label },
    { type: pkcs11js.CKA_ID, value: Buffer.from(key.id, 'utf8') },
  ]
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

function isStaleHandle(error: unknown): boolean {
  const ckr = ckrOf(error)
  return ckr !== undefined && STALE_HANDLE_CODES.has(ckr)
}

function ignoreFailure(fn: () => void): void {
  try {
    fn()
  } catch {
    // Closing what is already gone (a finalized module, a removed token) is not an error.
  }
}
