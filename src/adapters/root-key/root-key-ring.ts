import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RootKey } from '../../ports/root-key.js'
import { SoftwareRootKey } from './software-root-key.js'

/** The file of the root key being rotated to (`keyward root-key rotate`). */
export const NEXT_ROOT_KEY_FILE = 'root.key.next'
/** Root keys a rotation replaced: `root.key.retired-<fingerprint>`. */
export const RETIRED_ROOT_KEY_PREFIX = 'root.key.retired-'

/** How often, at most, the data directory is read again for a key the ring does not know. */
const RELOAD_INTERVAL_MS = 1_000

/**
 * The software root keys of a data directory during and after `keyward root-key rotate`:
 * root.key, root.key.next while a rotation runs, and the retired keys it replaced. Wrapping
 * uses the primary key (the one the database designates, see {@link SoftwareRootKeyRing.usePrimary});
 * unwrapping tries the primary first, then the others. AES-GCM's tag tells a wrong key
 * apart with certainty (NIST SP 800-38D), so trying is safe; each extra key costs one failed
 * tag check, and only material wrapped before a rotation is tried twice.
 *
 * A running server therefore keeps reading everything while another process re-wraps it,
 * and whatever it wrapped under the old key while it had not yet noticed the rotation stays
 * readable as long as the retired key file is kept.
 *
 * @example
 *   const ring = SoftwareRootKeyRing.open({ dataDir, primary: rootKey })
 *   await ring.usePrimary(await store.getSetting('root_key_fingerprint'))
 */
export class SoftwareRootKeyRing implements RootKey {
  readonly #dataDir: string
  readonly #keys = new Map<string, SoftwareRootKey>()
  #primary: SoftwareRootKey
  #loadedAt = 0

  private constructor(dataDir: string, primary: SoftwareRootKey) {
    this.#dataDir = dataDir
    this.#primary = primary
    this.#keys.set(primary.fingerprint, primary)
  }

  /** The ring of `dataDir`, with `primary` (root.key or KEYWARD_ROOT_KEY) and the key files. */
  static open(options: { dataDir: string; primary: SoftwareRootKey }): SoftwareRootKeyRing {
    const ring = new SoftwareRootKeyRing(options.dataDir, options.primary)
    ring.#reload(0)
    return ring
  }

  get fingerprint(): string {
    return this.#primary.fingerprint
  }

  /** Whether the ring holds the key with this fingerprint (reading the key files again). */
  has(fingerprint: string): boolean {
    if (!this.#keys.has(fingerprint)) this.#reload(0)
    return this.#keys.has(fingerprint)
  }

  /**
   * Wraps from now on under the key with `fingerprint`, reading the key files again when it is
   * not known yet; false (and nothing changes) when no key file has it.
   */
  usePrimary(fingerprint: string): boolean {
    if (fingerprint === this.#primary.fingerprint) return true
    if (!this.has(fingerprint)) return false
    this.#primary = this.#keys.get(fingerprint)!
    return true
  }

  wrap(plaintext: Buffer, context: string): Promise<Buffer> {
    return this.#primary.wrap(plaintext, context)
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    try {
      return await this.#primary.unwrap(wrapped, context)
    } catch (first) {
      for (let attempt = 0; attempt < 2; attempt++) {
        for (const key of this.#keys.values()) {
          if (key === this.#primary) continue
          try {
            return await key.unwrap(wrapped, context)
          } catch {
            // Not this key: try the next.
          }
        }
        // A key another process has just written (a rotation that started after this
        // process): read the directory again, at most once a second, then give up.
        if (attempt === 0 && !this.#reload(RELOAD_INTERVAL_MS)) break
      }
      throw first
    }
  }

  /** Reads root.key, root.key.next and the retired keys; false when it read nothing new. */
  #reload(minIntervalMs: number): boolean {
    const now = Date.now()
    if (now - this.#loadedAt < minIntervalMs) return false
    this.#loadedAt = now
    const before = this.#keys.size
    let names: string[]
    try {
      names = readdirSync(this.#dataDir)
    } catch {
      return false
    }
    for (const name of names) {
      if (
        name !== 'root.key' &&
        name !== NEXT_ROOT_KEY_FILE &&
        !name.startsWith(RETIRED_ROOT_KEY_PREFIX)
      )
        continue
      try {
        const bytes = Buffer.from(readFileSync(join(this.#dataDir, name), 'utf8').trim(), 'base64')
        if (bytes.length !== 32) continue
        const key = new SoftwareRootKey(bytes)
        if (!this.#keys.has(key.fingerprint)) this.#keys.set(key.fingerprint, key)
      } catch {
        // A file being written or removed right now: the next reload sees it.
      }
    }
    return this.#keys.size > before
  }
}
