/**
 * Why connecting to an HSM failed, in AWS's ConnectionErrorCode terms (API Reference,
 * CustomKeyStoresListEntry.ConnectionErrorCode), mapped from PKCS#11 return values as in
 * ../shared/reference/xks.md §5.2.
 */
export type HsmConnectionErrorCode =
  | 'CLUSTER_NOT_FOUND'
  | 'INSUFFICIENT_CLOUDHSM_HSMS'
  | 'INVALID_CREDENTIALS'
  | 'USER_LOCKED_OUT'
  | 'USER_NOT_FOUND'
  | 'USER_LOGGED_IN'
  | 'NETWORK_ERRORS'
  | 'INTERNAL_ERROR'

/**
 * A failure to reach or log into an HSM. The message names the module, token and PKCS#11
 * return value, never the PIN.
 *
 * @example
 *   throw new HsmConnectionError('CLUSTER_NOT_FOUND', `No token with label ${label}.`)
 */
export class HsmConnectionError extends Error {
  override readonly name = 'HsmConnectionError'
  constructor(
    readonly code: HsmConnectionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/**
 * The CKR_* name of a pkcs11js error, if it is one.
 *
 * @example
 *   ckrOf(error) // 'CKR_PIN_INCORRECT'
 */
export function ckrOf(error: unknown): string | undefined {
  if (error instanceof Error && /^CKR_[A-Z_]+$/.test(error.message)) return error.message
  return undefined
}

const CONNECTION_CODES: Readonly<Record<string, HsmConnectionErrorCode>> = {
  CKR_PIN_INCORRECT: 'INVALID_CREDENTIALS',
  CKR_PIN_INVALID: 'INVALID_CREDENTIALS',
  CKR_PIN_LEN_RANGE: 'INVALID_CREDENTIALS',
  CKR_PIN_EXPIRED: 'INVALID_CREDENTIALS',
  CKR_PIN_LOCKED: 'USER_LOCKED_OUT',
  CKR_USER_PIN_NOT_INITIALIZED: 'USER_NOT_FOUND',
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: 'USER_LOGGED_IN',
  CKR_TOKEN_NOT_PRESENT: 'INSUFFICIENT_CLOUDHSM_HSMS',
  CKR_TOKEN_NOT_RECOGNIZED: 'INSUFFICIENT_CLOUDHSM_HSMS',
  CKR_DEVICE_ERROR: 'NETWORK_ERRORS',
  CKR_DEVICE_REMOVED: 'NETWORK_ERRORS',
}

/**
 * The ConnectionErrorCode for any error met while connecting.
 *
 * @example
 *   connectionErrorCodeOf(loginError) // 'INVALID_CREDENTIALS'
 */
export function connectionErrorCodeOf(error: unknown): HsmConnectionErrorCode {
  if (error instanceof HsmConnectionError) return error.code
  const ckr = ckrOf(error)
  return (ckr && CONNECTION_CODES[ckr]) || 'INTERNAL_ERROR'
}

/**
 * PKCS#11 return values after which the sessions (or the whole library state) are gone: the
 * module was finalized, the token restarted or was removed. A reconnect can recover from them.
 */
const LOST_SESSION_CODES = new Set([
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_SLOT_ID_INVALID',
])

/**
 * Whether `error` means the session was lost (so reconnecting and retrying may succeed).
 *
 * @example
 *   if (isLostSession(error)) await reconnect()
 */
export function isLostSession(error: unknown): boolean {
  const ckr = ckrOf(error)
  return ckr !== undefined && LOST_SESSION_CODES.has(ckr)
}
