import type { XksProxyStore } from '../../adapters/store-sql/xks-proxy-store.js'
import type { XksLimits } from '../config.js'
import { XksError } from '../errors.js'
import type { HealthChecker } from '../health.js'
import type { XksKeyManager } from '../key-manager.js'

/** What an operation of the proxy works with. */
export interface XksOperationContext {
  readonly keyManager: XksKeyManager
  readonly store: XksProxyStore
  readonly health: HealthChecker
  readonly limits: XksLimits
  /** xksProxyFleetSize. */
  readonly fleetSize: number
}

/**
 * Refuses a disabled key with InvalidStateException (spec: "the specified external key … is
 * disabled"), after making sure it exists: an unknown key is KeyNotFoundException even when an
 * old disabled mark is left for its id.
 *
 * @example
 *   await assertKeyEnabled(ctx, 'foo')
 */
export async function assertKeyEnabled(ctx: XksOperationContext, keyId: string): Promise<void> {
  const { disabled } = await ctx.store.snapshot()
  if (!disabled.has(keyId)) return
  await ctx.keyManager.describeKey(keyId)
  throw new XksError('InvalidStateException', `External key ${keyId} is disabled.`)
}
