import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import {
  FileAuditTrail,
  type FileAuditTrailOptions,
} from '../../../src/adapters/audit-file/file-audit-trail.js'
import { systemClock } from '../../../src/ports/clock.js'
import type { XksClientConfig } from '../../../src/config/xks-client.js'
import { startKeyward, CapturingLogger, type TestServer } from '../../support/keyward-server.js'

/** A test server writing its audit trail to `<dataDir>/audit`, stream `main`. */
export interface AuditedServer {
  readonly kw: TestServer
  readonly trail: FileAuditTrail
  readonly auditDir: string
  readonly streamDir: string
  readonly signingKey: KeyObject
  readonly trailLogger: CapturingLogger
  close(): Promise<void>
}

/**
 * Starts Keyward with a file audit trail (options as FileAuditTrailOptions, minus the paths).
 *
 * @example
 *   const s = await startAudited({ required: true })
 *   after(() => s.close())
 */
export async function startAudited(
  options: Partial<Omit<FileAuditTrailOptions, 'dir' | 'stream' | 'signingKey' | 'logger'>> & {
    readonly signingKey?: KeyObject
    /** How external key store proxies are reached (principals.json "xksClient"). */
    readonly xksClient?: XksClientConfig
  } = {},
): Promise<AuditedServer> {
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-audit-'))
  const auditDir = join(dataDir, 'audit')
  const signingKey = options.signingKey ?? generateKeyPairSync('ed25519').privateKey
  const trailLogger = new CapturingLogger()
  const { xksClient: _xks, ...trailOptions } = options
  const trail = await FileAuditTrail.open({
    clock: systemClock,
    ...trailOptions,
    dir: auditDir,
    stream: 'main',
    signingKey,
    logger: trailLogger,
  })
  const kw = await startKeyward({
    dataDir,
    audit: trail.sink(),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.xksClient ? { xksClient: options.xksClient } : {}),
  })
  return {
    kw,
    trail,
    auditDir,
    streamDir: join(auditDir, 'main'),
    signingKey,
    trailLogger,
    close: async () => {
      await kw.close()
      await trail.close()
      const { rmSync } = await import('node:fs')
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Every CloudTrail record in the stream's files, in order. */
export async function records(streamDir: string): Promise<Array<Record<string, unknown>>> {
  const { readdirSync, readFileSync } = await import('node:fs')
  return readdirSync(streamDir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .flatMap((n) =>
      readFileSync(join(streamDir, n), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { record?: Record<string, unknown> }),
    )
    .flatMap((l) => (l.record ? [l.record] : []))
}
