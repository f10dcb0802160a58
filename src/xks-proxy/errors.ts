/**
 * The XKS Proxy API's errors (aws/aws-kms-xksproxy-api-spec v1.0.3, "Error codes"): every
 * error name with its HTTP status, in one table, so a name can never be sent with another
 * status. The body is `{"errorName": …, "errorMessage": …}`; the message is optional, under
 * 512 characters and printable ASCII only (0x20–0x7e), and AWS KMS writes it to the caller's
 * CloudWatch Logs: it never carries plaintext, key material or secrets.
 */
export const XKS_ERROR_STATUS = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  InternalException: 500,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
} as const

/** One of the spec's twelve error names. */
export type XksErrorName = keyof typeof XKS_ERROR_STATUS

/** The spec's limit on `errorMessage`: fewer than 512 characters. */
const MAX_MESSAGE_CHARS = 511

/**
 * An error answered to the caller as the spec's JSON error body with the name's status.
 *
 * @example
 *   throw new XksError('KeyNotFoundException', 'No external key with id foo.')
 */
export class XksError extends Error {
  readonly errorName: XksErrorName
  constructor(errorName: XksErrorName, message = '', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'XksError'
    this.errorName = errorName
  }

  /** The HTTP status the spec gives this error name. */
  get status(): number {
    return XKS_ERROR_STATUS[this.errorName]
  }

  /** The response body: `errorMessage` made printable ASCII and cut to the spec's length. */
  toBody(): string {
    const message = printableAscii(this.message)
    return JSON.stringify(
      message
        ? { errorName: this.errorName, errorMessage: message }
        : { errorName: this.errorName },
    )
  }
}

/**
 * `text` with every character outside 0x20–0x7e replaced by '?', at most 511 characters.
 *
 * @example
 *   printableAscii('a\nb') // 'a?b'
 */
export function printableAscii(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > MAX_MESSAGE_CHARS ? clean.slice(0, MAX_MESSAGE_CHARS - 3) + '...' : clean
}

/**
 * Whether `error` is an {@link XksError}.
 *
 * @example
 *   if (isXksError(e)) send(e.status, e.toBody())
 */
export function isXksError(error: unknown): error is XksError {
  return error instanceof XksError
}
