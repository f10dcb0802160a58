import type { ServiceEvent } from '../domain/audit-event.js'
import type { AuditSink } from '../ports/audit-sink.js'
import type { Clock } from '../ports/clock.js'
import type { Random } from '../ports/random.js'

/** What a job reports: the event's name, the account and Region, the keys, the details. */
export type ServiceEventReport = Omit<ServiceEvent, 'eventId' | 'at'>

/** Reports a service event to the audit trail; a no-op when the trail takes none. */
export type ReportServiceEvent = (report: ServiceEventReport) => void

/**
 * The function the scheduler's jobs and the custom key store service call when they change
 * something by themselves (CloudTrail's AwsServiceEvent), stamped with an event ID and the
 * injected clock's time.
 *
 * @example
 *   const report = serviceEventReporter(audit, { clock, random })
 *   report({ eventName: 'RotateKey', region, accountId, keys: [key] })
 */
export function serviceEventReporter(
  sink: AuditSink,
  deps: { clock: Clock; random: Random },
): ReportServiceEvent {
  const service = sink.service?.bind(sink)
  if (!service) return () => {}
  return (report) => service({ ...report, eventId: deps.random.uuid(), at: deps.clock.now() })
}

/**
 * A key as a service event names it.
 *
 * @example
 *   report({ eventName: 'DeleteKey', region, accountId, keys: [usedKey(key)] })
 */
export const usedKey = (key: { arn: string; region: string; keyId: string }) => ({
  arn: key.arn,
  region: key.region,
  keyId: key.keyId,
})
