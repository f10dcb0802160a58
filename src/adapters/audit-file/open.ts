import { join } from 'node:path'
import type { Clock } from '../../ports/clock.js'
import type { Logger } from '../../ports/logger.js'
import { FileAuditTrail, type FileAuditTrailOptions } from './file-audit-trail.js'
import { loadOrCreateSigningKey } from './format.js'

/** The audit trail's settings as `keyward serve` takes them; limits as FileAuditTrailOptions. */
export type AuditTrailSettings = Partial<
  Pick<
    FileAuditTrailOptions,
    | 'dir'
    | 'stream'
    | 'required'
    | 'maxFileBytes'
    | 'maxFileAgeMs'
    | 'digestIntervalMs'
    | 'flushIntervalMs'
  >
>

/**
 * The signing key's file in the data directory (mode 0600, created on first start).
 *
 * @example
 *   signingKeyPath('/root/.keyward') // '/root/.keyward/audit-signing.key'
 */
export const signingKeyPath = (dataDir: string) => join(dataDir, 'audit-signing.key')

/**
 * The audit directory of a data directory unless `--audit-dir` says otherwise.
 *
 * @example
 *   auditDirOf('/root/.keyward') // '/root/.keyward/audit'
 */
export const auditDirOf = (dataDir: string, dir?: string) => dir ?? join(dataDir, 'audit')

/**
 * The file trail of a data directory: `<dataDir>/audit` (or `settings.dir`), stream `main`
 * (or `settings.stream`), digests signed with `<dataDir>/audit-signing.key`.
 *
 * @example
 *   const trail = await openFileAuditTrail('/root/.keyward', { settings: {}, clock, logger })
 */
export async function openFileAuditTrail(
  dataDir: string,
  deps: { settings: AuditTrailSettings; clock: Clock; logger: Logger },
): Promise<FileAuditTrail> {
  return FileAuditTrail.open({
    ...deps.settings,
    dir: auditDirOf(dataDir, deps.settings.dir),
    stream: deps.settings.stream ?? 'main',
    signingKey: loadOrCreateSigningKey(signingKeyPath(dataDir)),
    clock: deps.clock,
    logger: deps.logger,
  })
}
