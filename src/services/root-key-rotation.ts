import { passwordContext, xksSecretContext } from '../domain/custom-key-store.js'
import type { RootKey } from '../ports/root-key.js'
import {
  WRAPPED_KINDS,
  type RewrapStore,
  type WrappedKind,
  type WrappedSlot,
} from '../ports/rewrap-store.js'
import { WRAP_CONTEXT as STS_SECRET_CONTEXT } from '../sts/token-secret.js'
import { GRANT_TOKEN_KEY_CONTEXT, materialContext, materialIdKeyContext } from './key-service.js'

/**
 * `keyward root-key rotate`: re-wraps every value stored under the root key (key material,
 * material-ID secrets of imported keys, custom key store passwords and proxy secrets, the
 * grant-token and session-token secrets) under a new root key, while servers keep serving.
 *
 * Each value is unwrapped with the old key and wrapped with the new one, then swapped in only
 * if it is unchanged since it was read; the plaintext is zeroed at once. Progress, the
 * position (kind, key) after each batch, is recorded in the store under
 * {@link ROTATION_SETTING}: a rotation that crashed resumes there, and a value already under
 * the new key is recognised and skipped, so work done twice is harmless. A final sweep reads
 * everything again and re-wraps what a server wrapped under the old key meanwhile.
 */

/** The setting that records a rotation in progress (JSON, {@link RotationState}). */
export const ROTATION_SETTING = 'root_key_rotation'
/** The setting that records the database's root key (as src/server.ts checks at start). */
export const ROOT_KEY_SETTING = 'root_key_fingerprint'

/** What a rotation has done so far, as recorded. */
export interface RotationState {
  readonly from: string
  readonly to: string
  readonly startedAt: string
  /** The kind and cursor of the last batch done; absent before the first. */
  readonly kind?: WrappedKind
  readonly after?: string
  /** Values looked at so far (re-wrapped or found under the new key). */
  readonly done: number
}

/** What one run did. */
export interface RotationResult {
  readonly total: number
  readonly rewrapped: number
  readonly resumed: boolean
}

/** The context each kind of value was wrapped under (the same functions that wrapped it). */
function contextOf(slot: WrappedSlot): string {
  const { ids } = slot
  switch (slot.kind) {
    case 'material':
      return materialContext({
        region: ids.region!,
        keyId: ids.keyId!,
        keyMaterialId: ids.keyMaterialId!,
      })
    case 'materialIdKey':
      return materialIdKeyContext({ region: ids.region!, keyId: ids.id! })
    case 'setting':
      if (ids.name === 'grant_token_key') return GRANT_TOKEN_KEY_CONTEXT
      if (ids.name === 'sts_session_token_secret') return STS_SECRET_CONTEXT
      break
    case 'customKeyStore': {
      const store = { region: ids.region!, customKeyStoreId: ids.id! }
      if (ids.field === 'wrappedPassword') return passwordContext(store)
      if (ids.field === 'xksProxy.wrappedSecret') return xksSecretContext(store)
      break
    }
  }
  throw new Error(`no wrapping context for ${describe(slot)}`)
}

/** Where a value is, for messages: identifiers only, never bytes. */
const describe = (slot: WrappedSlot) => `${slot.kind} ${Object.values(slot.ids).join('/')}`

/**
 * Re-wraps one value; returns whether it changed it. A value that opens under the new key is
 * done already (a resumed rotation, or a server that wrapped it under the new key).
 */
async function rewrapOne(
  slot: WrappedSlot,
  keys: { from: RootKey; to: RootKey; store: RewrapStore },
): Promise<boolean> {
  const context = contextOf(slot)
  try {
    ;(await keys.to.unwrap(slot.wrapped, context)).fill(0)
    return false
  } catch {
    // Not under the new key yet.
  }
  let plain: Buffer
  try {
    plain = await keys.from.unwrap(slot.wrapped, context)
  } catch {
    throw new Error(
      `${describe(slot)} opens under neither the old nor the new root key; stopping (nothing of it was changed).`,
    )
  }
  try {
    return keys.store.replace(slot, await keys.to.wrap(plain, context))
  } finally {
    plain.fill(0)
  }
}

/**
 * Runs (or resumes) the rotation from `from` to `to` over `store`. Throws, with the progress
 * kept, when a value cannot be opened or `onProgress` throws (the caller's way to stop).
 *
 * @example
 *   await rotateRootKey(store, { from: oldKey, to: newKey, onProgress: (done, total) => … })
 */
export async function rotateRootKey(
  store: RewrapStore,
  options: {
    from: RootKey
    to: RootKey
    /** Told after each batch, once its progress is recorded. */
    onProgress?: (done: number, total: number) => void
    batchSize?: number
    now?: () => Date
  },
): Promise<RotationResult> {
  const batch = options.batchSize ?? 100
  const keys = { from: options.from, to: options.to, store }
  const recorded = store.getSetting(ROTATION_SETTING)
  let state: RotationState = recorded
    ? (JSON.parse(recorded) as RotationState)
    : {
        from: options.from.fingerprint,
        to: options.to.fingerprint,
        startedAt: (options.now?.() ?? new Date()).toISOString(),
        done: 0,
      }
  if (state.from !== options.from.fingerprint || state.to !== options.to.fingerprint) {
    throw new Error(
      `A rotation from root key ${state.from} to ${state.to} is recorded in the database, not from ${options.from.fingerprint} to ${options.to.fingerprint}.`,
    )
  }
  if (!recorded) store.setSettings({ [ROTATION_SETTING]: JSON.stringify(state) })
  const total = store.count()
  let rewrapped = 0
  const startKind = state.kind === undefined ? 0 : WRAPPED_KINDS.indexOf(state.kind)
  for (let k = startKind; k < WRAPPED_KINDS.length; k++) {
    const kind = WRAPPED_KINDS[k]!
    let after = kind === state.kind ? state.after : undefined
    for (;;) {
      const page = store.page(kind, after, batch)
      if (page.length === 0) break
      for (const slot of page) if (await rewrapOne(slot, keys)) rewrapped++
      after = page[page.length - 1]!.key
      state = { ...state, kind, after, done: state.done + page.length }
      store.setSettings({ [ROTATION_SETTING]: JSON.stringify(state) })
      options.onProgress?.(Math.min(state.done, total), total)
      if (page.length < batch) break
    }
  }
  // The sweep: whatever a server wrapped under the old key while the pass ran.
  for (let pass = 0; pass < 3; pass++) {
    let changed = 0
    for (const kind of WRAPPED_KINDS) {
      for (let after: string | undefined; ;) {
        const page = store.page(kind, after, batch)
        for (const slot of page) if (await rewrapOne(slot, keys)) changed++
        if (page.length < batch) break
        after = page[page.length - 1]!.key
      }
    }
    rewrapped += changed
    if (changed === 0) break
  }
  return { total, rewrapped, resumed: recorded !== undefined }
}

/**
 * Records the new root key as the database's and ends the rotation (one transaction): from
 * now on every server and start-up check expects the new key.
 *
 * @example
 *   finishRotation(store, newKey.fingerprint)
 */
export function finishRotation(store: RewrapStore, to: string): void {
  store.setSettings({ [ROOT_KEY_SETTING]: to, [ROTATION_SETTING]: undefined })
}
