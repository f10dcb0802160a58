import { randomBytes } from 'node:crypto'
import type { KeyStore } from '../ports/key-store.js'
import type { RootKey } from '../ports/root-key.js'
import { SessionTokens } from './session-token.js'

const SETTING = 'sts_session_token_secret'
/** Binds the wrapped secret to its purpose: it cannot be swapped for another wrapped value. */
export const WRAP_CONTEXT = 'keyward:sts-session-token-secret:v1'

/**
 * The session token sealer of this data directory: a 32-byte secret made once, stored only
 * wrapped under the root key (so a copy of the database alone cannot mint credentials), and
 * the same for every process and every restart, so temporary credentials outlive both.
 *
 * @example
 *   const tokens = await openSessionTokens(store, rootKey)
 */
export async function openSessionTokens(store: KeyStore, rootKey: RootKey): Promise<SessionTokens> {
  let stored = await store.getSetting(SETTING)
  if (stored === undefined) {
    const wrapped = await rootKey.wrap(randomBytes(32), WRAP_CONTEXT)
    await store.setSetting(SETTING, wrapped.toString('base64'))
    // Read back: under --workers the first start's work runs once before the fork, but should
    // two processes still race here, every one of them uses the value that was kept.
    stored = (await store.getSetting(SETTING))!
  }
  const secret = await rootKey.unwrap(Buffer.from(stored, 'base64'), WRAP_CONTEXT)
  return new SessionTokens(secret)
}
