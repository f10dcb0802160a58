import type { Caller } from '../domain/caller.js'

/** A key an operation used: resolved from a KeyId, an alias or a ciphertext's header. */
export interface UsedKey {
  readonly arn: string
  readonly region: string
  readonly keyId: string
}

/**
 * One finished KMS call, as the request core saw it. It carries identifiers only: never the
 * input or output (plaintext, ciphertext, key material), so any sink may store or ship it.
 */
export interface AuditEvent {
  /** The API operation, e.g. `Encrypt`. */
  readonly operation: string
  readonly requestId: string
  readonly caller: Caller
  readonly region: string
  /** Milliseconds since the epoch, from the injected clock, when the call finished. */
  readonly at: number
  /**
   * The keys the operation resolved, in the order it resolved them, each once (ReEncrypt: the
   * source key from the ciphertext and the destination key). Empty for operations on no key.
   */
  readonly keys: readonly UsedKey[]
  /** `success`, or the exception name the caller was answered with (e.g. `DisabledException`). */
  readonly outcome: 'success' | { readonly error: string }
}

/**
 * Where the request core reports every finished call: the seam of the audit trail. Today's one
 * adapter records the last use of keys for GetKeyLastUsage (src/services/key-last-use.ts).
 * `record` is called on the request's path, after execution and before the answer is sent, so
 * it must not block: a sink that writes to disk or the network queues the event and returns.
 *
 * @example
 *   const sink: AuditSink = { record: (event) => queue.push(event) }
 */
export interface AuditSink {
  record(event: AuditEvent): void
}
