import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { RootKey } from '../../ports/root-key.js'

const VERSION = 0x01
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * A 256-bit root key held in memory, wrapping with AES-256-GCM (NIST SP 800-38D): blob =
 * version ‖ 12-byte random IV ‖ ciphertext ‖ 16-byte tag; the context string is the AAD, so a
 * wrapped material cannot be moved to another key's row.
 */
export class SoftwareRootKey implements RootKey {
  readonly fingerprint: string
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the root key must be exactly 32 bytes')
    this.#key = Buffer.from(key)
    this.fingerprint = createHmac('sha256', this.#key)
      .update('keyward root key fingerprint v1')
      .digest('hex')
      .slice(0, 32)
  }

  async wrap(plaintext: Buffer, context: string): Promise<Buffer> {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()])
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    if (wrapped[0] !== VERSION || wrapped.length < 1 + IV_BYTES + TAG_BYTES) {
      throw new Error('wrapped material has an unknown format')
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, wrapped.subarray(1, 1 + IV_BYTES))
    decipher.setAAD(Buffer.from(context, 'utf8'))
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES))
    return Buffer.concat([
      decipher.update(wrapped.subarray(1 + IV_BYTES, wrapped.length - TAG_BYTES)),
      decipher.final(),
    ])
  }
}

/** Makes a new directory entry durable (fsync(2) on the directory; POSIX only). */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** A root key from its base64 text, or an error that names where the text came from. */
function rootKeyFrom(text: string, source: string): SoftwareRootKey {
  const key = Buffer.from(text.trim(), 'base64')
  if (key.length !== 32) {
    throw new Error(
      `${source}: the root key must be exactly 32 bytes (base64 of 32 random bytes); it holds ${key.length}.`,
    )
  }
  return new SoftwareRootKey(key)
}

/** What {@link loadSoftwareRootKey} reads, and whether it may create the file. */
export interface SoftwareRootKeyOptions {
  readonly path: string
  /** KEYWARD_ROOT_KEY: used instead of the file when set. */
  readonly env?: string | undefined
  /**
   * The database at this path already records a root key's fingerprint: the file must exist.
   * A new random key there would be the wrong one, left where the operator will look for (and
   * restore) the real one.
   */
  readonly recordedIn?: string | undefined
}

/**
 * The root key from `KEYWARD_ROOT_KEY` (base64 of 32 bytes) or from `path`, which is created
 * with 32 random bytes and mode 0600 on first start (never when `recordedIn` says a database
 * already depends on one). Losing this file loses every key.
 *
 * @throws Error naming the file or variable: missing when it must exist, not 32 bytes
 * @example
 *   const { rootKey, created } = loadSoftwareRootKey({ path: '/root/.keyward/root.key' })
 */
export function loadSoftwareRootKey(options: SoftwareRootKeyOptions): {
  rootKey: SoftwareRootKey
  source: string
  created: boolean
} {
  if (options.env) {
    return {
      rootKey: rootKeyFrom(options.env, 'KEYWARD_ROOT_KEY'),
      source: 'KEYWARD_ROOT_KEY',
      created: false,
    }
  }
  if (options.recordedIn !== undefined) return { ...readExisting(options), created: false }
  let created = false
  try {
    // O_EXCL: never overwrite an existing root key, even when two processes start at once.
    const fd = openSync(options.path, 'wx', 0o600)
    try {
      writeSync(fd, randomBytes(32).toString('base64') + '\n')
      // On disk before any material is wrapped under it: the database fsyncs every commit,
      // and a crash must not leave wrapped keys behind a root key that was never written.
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    syncDirectory(dirname(options.path))
    created = true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  return { ...readExisting(options), created }
}

/** The root key file that must already exist; a clear refusal when it does not. */
function readExisting(options: SoftwareRootKeyOptions): {
  rootKey: SoftwareRootKey
  source: string
} {
  let text: string
  try {
    text = readFileSync(options.path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.recordedIn === undefined)
      throw error
    throw new Error(
      `The root key file ${options.path} is missing, but the database ${options.recordedIn} was created with a root key: every key in it is wrapped under that key and unreadable without it. Refusing to start, and not creating a new root key. Restore root.key from your backup to ${options.path} (mode 0600), or set KEYWARD_ROOT_KEY to its content; a new root key would not open these keys.`,
    )
  }
  return { rootKey: rootKeyFrom(text, options.path), source: options.path }
}
