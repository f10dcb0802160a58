import type { CustomKeyStoreService } from './custom-key-stores.js'
import type { KeyService } from './key-service.js'

/** What a node caches and forgets when another node changes the database. */
export interface ChangeTargets {
  readonly keys: Pick<KeyService, 'forgetKey' | 'forgetAll'>
  readonly customKeyStores: Pick<CustomKeyStoreService, 'invalidate'>
}

/**
 * Applies one change announcement of another node (or of this one: a NOTIFY reaches its
 * sender too, and forgetting twice is harmless): `<region>/<keyId>` forgets that key, anything
 * else (`*`: aliases, custom key stores, a LISTEN connection re-established after a gap)
 * forgets everything cached. A payload that is not understood forgets everything too: the
 * safe reading of a change one cannot place.
 *
 * @example
 *   applyChange({ keys, customKeyStores }, 'us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab')
 */
export function applyChange(targets: ChangeTargets, changed: string): void {
  const slash = changed.indexOf('/')
  if (changed !== '*' && slash > 0 && slash === changed.lastIndexOf('/')) {
    targets.keys.forgetKey(changed.slice(0, slash), changed.slice(slash + 1))
    return
  }
  targets.keys.forgetAll()
  targets.customKeyStores.invalidate()
}

/**
 * The safety net under LISTEN/NOTIFY: everything cached is forgotten every `ttlMs`, so a
 * change whose notification was lost (a notification is not queued for a session that is
 * not listening at commit time, PostgreSQL docs, NOTIFY) is seen within that bound anyway.
 * Returns the function that stops it.
 *
 * @example
 *   const stop = forgetPeriodically(targets, 5_000)
 */
export function forgetPeriodically(targets: ChangeTargets, ttlMs: number): () => void {
  const timer = setInterval(() => applyChange(targets, '*'), ttlMs)
  timer.unref()
  return () => clearInterval(timer)
}
