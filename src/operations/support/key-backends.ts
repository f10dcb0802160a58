import type { CustomKeyStoreRecord } from '../../domain/custom-key-store.js'
import type { KeyRecord } from '../../domain/key.js'
import { keyUnavailable } from '../../domain/key-availability.js'
import { KEY_ORIGINS } from '../../domain/key-origins.js'
import {
  BackendUnavailableError,
  type BackendCall,
  type KeyMaterialBackend,
} from '../../ports/key-material-backend.js'
import type { OperationContext } from '../context.js'

/**
 * How operations reach the backend that holds a key's material: the origin table names the
 * backend (KEY_ORIGINS in src/domain/key-origins.ts), the context hands it over, and a key of
 * a custom key store is served only while its store is CONNECTED.
 */

/**
 * The key's custom key store (cached), or undefined for a key outside custom key stores:
 * what decides between the key's own state and Unavailable (DescribeKey, and every
 * cryptographic operation).
 *
 * @example
 *   const connected = (await storeOfKey(ctx, key))?.connectionState === 'CONNECTED'
 */
export async function storeOfKey(
  ctx: OperationContext,
  key: KeyRecord,
): Promise<CustomKeyStoreRecord | undefined> {
  if (key.customKeyStoreId === undefined) return undefined
  return ctx.customKeyStores.record(key.region, key.customKeyStoreId)
}

/**
 * What the backend is told of the request (XKS requestMetadata).
 *
 * @example
 *   await backend.seal(key, { plaintext, call: backendCall(ctx) })
 */
export function backendCall(ctx: OperationContext): BackendCall {
  return { requestId: ctx.requestId, operation: ctx.operation, callerArn: ctx.caller.arn }
}

/**
 * Runs `fn` with the backend of the key and the key's store. A key whose custom key store is
 * not CONNECTED is Unavailable (KMSInvalidStateException "… is unavailable.", kms-api.md
 * §3.3), and so is one whose backend cannot be reached, which also makes the store FAILED.
 *
 * @example
 *   const { blob } = await withKeyBackend(ctx, key, (backend, store) =>
 *     backend.seal(key, { store, plaintext, call: backendCall(ctx) }))
 */
export async function withKeyBackend<T>(
  ctx: OperationContext,
  key: KeyRecord,
  fn: (backend: KeyMaterialBackend, store: CustomKeyStoreRecord | undefined) => Promise<T>,
): Promise<T> {
  const origin = KEY_ORIGINS[key.origin]
  const backend = ctx.backends[origin.backend]
  if (origin.customKeyStoreType === undefined) return fn(backend, undefined)
  const store = await storeOfKey(ctx, key)
  if (
    store?.connectionState !== 'CONNECTED' ||
    store.customKeyStoreType !== origin.customKeyStoreType
  ) {
    throw keyUnavailable(key)
  }
  return whileReachable(ctx, store, {
    run: () => fn(backend, store),
    unreachable: () => keyUnavailable(key),
  })
}

/**
 * Runs a backend call for a CONNECTED store; when the backend cannot be reached, records the
 * store as FAILED and throws `unreachable()` (an unexpected failure passes through unchanged).
 *
 * @example
 *   await whileReachable(ctx, store, { run: () => backend.random(n, { store }), unreachable })
 */
export async function whileReachable<T>(
  ctx: OperationContext,
  store: CustomKeyStoreRecord,
  calls: { run: () => Promise<T>; unreachable: () => Error },
): Promise<T> {
  try {
    return await calls.run()
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error
    await ctx.customKeyStores.connectionLost(store, error)
    throw error.expected ? calls.unreachable() : error.cause
  }
}
