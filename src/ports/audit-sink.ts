import type { AuditEvent, ServiceEvent } from '../domain/audit-event.js'

export type { AuditDetails, AuditEvent, ServiceEvent, UsedKey } from '../domain/audit-event.js'

/**
 * Where the request core reports every finished call: the seam of the audit trail. The
 * last-use adapter records the last use of keys for GetKeyLastUsage
 * (src/services/key-last-use.ts); the file trail (src/adapters/audit-file/) writes CloudTrail
 * records of them. `record` is called on the request's path, after execution and before the
 * answer is sent, so it must not block: a sink that writes to disk queues the event and
 * returns.
 *
 * @example
 *   const sink: AuditSink = { record: (event) => queue.push(event) }
 */
export interface AuditSink {
  record(event: AuditEvent): void
  /**
   * A fail-closed sink (`--audit-required`): settles once every event recorded so far is on
   * disk, and rejects (with the exception to answer) when they could not be written, so that
   * no call is answered unaudited. Absent for sinks that never refuse.
   */
  written?(): Promise<void>
  /**
   * A fail-closed sink throws here (the exception to answer) when it already knows it cannot
   * write: the core asks before the operation runs, so that a refused call changes nothing.
   */
  assertWritable?(): void
  /** Something the service did by itself (CloudTrail's AwsServiceEvent). */
  service?(event: ServiceEvent): void
  /** How far writing is behind (the audit metrics and `GET /readyz`); absent: never behind. */
  status?(): AuditStatus
}

/** The state of a sink that writes in the background. */
export interface AuditStatus {
  /** Events recorded but not yet on disk. */
  readonly queued: number
  /** Milliseconds since the oldest of them was recorded; 0 when none waits. */
  readonly lagMs: number
  /** The last write failed (and no write has worked since). */
  readonly failed: boolean
}
