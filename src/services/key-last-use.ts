import type { AuditEvent, AuditSink } from '../ports/audit-sink.js'
import type { KeyService } from './key-service.js'

/**
 * The operations GetKeyLastUsage reports: the model's KeyLastUsageTrackingOperation enum
 * (API Reference, GetKeyLastUsage).
 */
const TRACKED_USES: ReadonlySet<string> = new Set([
  'Decrypt',
  'DeriveSharedSecret',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'ReEncrypt',
  'Sign',
  'Verify',
  'VerifyMac',
])

/**
 * The AuditSink that keeps GetKeyLastUsage's answer: every key a successful tracked operation
 * used (ReEncrypt: its source and destination keys) gets this call as its latest use. Only
 * successes count; a DryRun ends in DryRunOperationException and is not a use. The uses are
 * kept in memory and written by KeyService.saveKeyUses, so Encrypt never waits for the disk.
 *
 * @example
 *   const audit = keyLastUseSink(keys)
 *   audit.record(event) // after an Encrypt: keys.lastKeyUse(region, keyId) is this call
 */
export function keyLastUseSink(
  keys: KeyService,
  options: {
    /**
     * An audit trail records the same events: keep their event IDs, GetKeyLastUsage's
     * CloudTrailEventId. Without a trail there is no event to name.
     */
    withEventIds?: boolean
  } = {},
): AuditSink {
  return {
    record(event: AuditEvent): void {
      if (event.outcome !== 'success' || !TRACKED_USES.has(event.operation)) return
      const eventId = options.withEventIds ? event.eventId : undefined
      for (const key of event.keys) {
        keys.recordKeyUse({
          region: key.region,
          keyId: key.keyId,
          operation: event.operation,
          usedAt: event.at,
          requestId: event.requestId,
          ...(eventId ? { cloudTrailEventId: eventId } : {}),
        })
      }
    },
  }
}
