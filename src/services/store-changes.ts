import type { Scope } from '../domain/identifiers.js'
import type { KeyStore, StoreChange } from '../ports/key-store.js'

/** What a cache forgets when the store changed under it. */
export interface ForgettingCache {
  forgetKey(region: string, keyId: string): void
  forgetAlias(scope: Scope, aliasName: string): void
  forgetAll(): void
}

/**
 * The most changes read at once; more than that since the last look (a bulk import in another
 * process) is cheaper to answer by forgetting everything.
 */
const CHANGES_PER_READ = 1_000

/**
 * Keeps a cache coherent with commits by other processes (`--workers`, several nodes on one
 * database): when the store's {@link KeyStore.commitsByOthers} moves, it reads the store's
 * change log from where it last stopped and has the cache forget exactly the keys and aliases
 * written since. A store without a change log, a log trimmed past the last position read, or
 * a read that fails makes the cache forget everything, which is always safe.
 *
 * @example
 *   const follower = new OtherWritersFollower(store, cache)
 *   const pending = follower.follow() // before a cache lookup
 *   if (pending) await pending
 */
export class OtherWritersFollower {
  readonly #store: KeyStore
  readonly #cache: ForgettingCache
  /** commitsByOthers() at the last look. */
  #commits: number | undefined
  /** The last change applied; undefined before the first look and after a failed read. */
  #seq: number | undefined
  #catchingUp: Promise<void> | undefined

  constructor(store: KeyStore, cache: ForgettingCache) {
    this.#store = store
    this.#cache = cache
  }

  /**
   * Undefined when nothing was committed by others since the last look (the hot path: one
   * synchronous check, no await); otherwise a promise that settles once the cache has
   * forgotten what they changed. Every caller waits for it, so a change acknowledged by one
   * process is seen by the next request to any other.
   */
  follow(): Promise<void> | undefined {
    const commitsByOthers = this.#store.commitsByOthers
    if (!commitsByOthers) return undefined
    const commits = commitsByOthers()
    if (commits !== this.#commits) {
      this.#commits = commits
      const run = (this.#catchingUp ?? Promise.resolve()).then(() => this.#catchUp())
      const tracked: Promise<void> = run.finally(() => {
        if (this.#catchingUp === tracked) this.#catchingUp = undefined
      })
      this.#catchingUp = tracked
    }
    return this.#catchingUp
  }

  async #catchUp(): Promise<void> {
    const log = this.#store.changeLog
    try {
      if (!log || this.#seq === undefined) {
        this.#seq = await log?.latest()
        this.#cache.forgetAll()
        return
      }
      const { changes, complete } = await log.since(this.#seq, CHANGES_PER_READ)
      if (!complete || changes.length === CHANGES_PER_READ) {
        this.#seq = await log.latest()
        this.#cache.forgetAll()
        return
      }
      for (const change of changes) this.#forget(change)
      this.#seq = changes.at(-1)?.seq ?? this.#seq
    } catch {
      // The store will answer the request that follows (or fail it with its own error); until
      // the log can be read again, nothing cached can be trusted.
      this.#seq = undefined
      this.#cache.forgetAll()
    }
  }

  #forget(change: StoreChange): void {
    switch (change.kind) {
      case 'key':
        return this.#cache.forgetKey(change.region, change.keyId)
      case 'alias':
        return this.#cache.forgetAlias(change, change.aliasName)
      case 'custom-key-store':
        // Custom key store records are cached by CustomKeyStoreService, which follows
        // commitsByOthers on its own; no key record embeds one.
        return
    }
  }
}

/**
 * A scheduler job that trims the change log to the changes of the last `keepMs` (default five
 * minutes): a process that looks less often than that forgets everything instead.
 */
export function changeLogTrimJob(
  store: KeyStore,
  options: { keepMs?: number } = {},
): (now: number) => Promise<number> {
  const keepMs = options.keepMs ?? 5 * 60_000
  return async (now) => (store.changeLog ? store.changeLog.trim(now - keepMs) : 0)
}
