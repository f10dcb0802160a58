/**
 * Base of every exception Keyward sends on the wire. The concrete classes are generated from
 * model/kms-errors.json (src/domain/errors/exceptions.ts) so that the wire name, the fault and
 * the HTTP status live on the class and nowhere else.
 *
 * `message` is public and goes to the caller; `cause` is internal and only logged, joined to the
 * answer by the request id (see docs/lifecycle.md). Never put plaintext, key material or grant
 * tokens in either.
 *
 * @example
 *   throw new NotFoundException(`Key '${arn}' does not exist`)
 */
export abstract class KmsException extends Error {
  abstract override readonly name: string
  abstract readonly fault: 'client' | 'server'
  abstract readonly httpStatus: number

  /** An empty message is sent as no message at all, as AWS does for InvalidCiphertextException. */
  constructor(message = '', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** True when `error` is one of Keyward's wire exceptions (as opposed to a bug or an I/O error). */
export const isKmsException = (error: unknown): error is KmsException =>
  error instanceof KmsException
