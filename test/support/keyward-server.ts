import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KMSClient } from '@aws-sdk/client-kms'
import { SoftwareRootKey } from '../../src/adapters/root-key/software-root-key.js'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import type { HsmClusterConfig } from '../../src/config/hsm-clusters.js'
import type { XksClientConfig } from '../../src/config/xks-client.js'
import type { QuotaConfig } from '../../src/config/quotas.js'
import { DEFAULT_RESOURCE_QUOTAS } from '../../src/domain/quotas.js'
import { adminCaller, type Principals } from '../../src/config/principals.js'
import type { Caller } from '../../src/domain/caller.js'
import type { HttpLimits } from '../../src/config/http-limits.js'
import type { AuditSink } from '../../src/ports/audit-sink.js'
import type { Authorizer } from '../../src/ports/authorizer.js'
import type { Clock } from '../../src/ports/clock.js'
import type { ReadinessCheck } from '../../src/services/health.js'
import { createKeyward, type Keyward, type MetricsOptions } from '../../src/server.js'
import type { Credential } from '../../src/sigv4/sigv4.js'
import type { Logger } from '../../src/ports/logger.js'

/** The admin credential every test server knows (account 111122223333). */
export const ADMIN = {
  accessKeyId: 'AKIAADMINTESTKEY0001',
  secretAccessKey: 'admin-secret-for-tests-only-0000000000001',
}
/** A user of a second account, for cross-account tests. */
export const OTHER = {
  accessKeyId: 'AKIAOTHERTESTKEY0002',
  secretAccessKey: 'other-secret-for-tests-only-0000000000002',
}
export const OTHER_ACCOUNT = '444455556666'

/** Log lines captured during a test (also used to grep for plaintext leaks). */
export class CapturingLogger implements Logger {
  readonly lines: string[] = []
  /** Debug events, kept apart: tests assert what is logged as an error and what is not. */
  readonly debugLines: string[] = []
  debug(message: string, fields?: Record<string, unknown>) {
    this.debugLines.push(JSON.stringify({ message, ...fields }))
  }
  info(message: string, fields?: Record<string, unknown>) {
    this.lines.push(JSON.stringify({ message, ...fields }))
  }
  error(message: string, fields?: Record<string, unknown>) {
    this.lines.push(JSON.stringify({ message, ...fields }))
  }
}

export interface TestServer {
  readonly endpoint: string
  readonly keyward: Keyward
  readonly dataDir: string
  readonly logger: CapturingLogger
  /** An SDK client for the admin (or the given credentials) in `region`. */
  client(options?: { region?: string; credentials?: typeof ADMIN }): KMSClient
  close(): Promise<void>
}

const credential = (c: typeof ADMIN, principal: Caller): [string, Credential<Caller>] => [
  c.accessKeyId,
  { secretAccessKey: c.secretAccessKey, principal },
]

/**
 * Starts a real Keyward on a random loopback port over a fresh SQLite file, with SigV4 checked
 * against two test principals.
 *
 * @example
 *   const kw = await startKeyward()
 *   const kms = kw.client()
 *   after(() => kw.close())
 */
export async function startKeyward(
  options: {
    clock?: Clock
    dev?: boolean
    regions?: string[]
    /** HSM connections custom key stores may use (principals.json "cloudHsmClusters"). */
    cloudHsmClusters?: ReadonlyMap<string, HsmClusterConfig>
    /** Reuse this data directory (a restart); it is then left in place on close. */
    dataDir?: string
    /** How external key store proxies are reached (principals.json "xksClient"). */
    xksClient?: XksClientConfig
    /**
     * Quotas (principals.json "quotas"). By default AWS's resource quotas and no request
     * quotas: most tests make keys faster than CreateKey's 5 per second.
     */
    quotas?: QuotaConfig
    /** Open the SQLite store as `keyward serve --workers N` does (watching others' commits). */
    sharedStore?: boolean
    /** Timeouts and connection cap of the HTTP server (short ones in timeout tests). */
    http?: Partial<HttpLimits>
    /** Decides whether each call may proceed (default: allow all). */
    authorizer?: Authorizer
    /** Also told of every finished call. */
    audit?: AuditSink
    /** Where GET /metrics is served (token, port). */
    metrics?: MetricsOptions
    /** More readiness checks for GET /readyz. */
    readinessChecks?: ReadinessCheck[]
    /** More principals the server knows besides ADMIN and OTHER. */
    principals?: ReadonlyArray<{ readonly credentials: typeof ADMIN; readonly caller: Caller }>
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'keyward-test-'))
  const store = await openSqliteKeyStore(join(dataDir, 'keyward.db'), {
    guardTransactions: true,
    ...(options.sharedStore ? { sharedWithOtherProcesses: true } : {}),
  })
  const principals: Principals = {
    ...(options.regions ? { regions: options.regions } : {}),
    ...(options.cloudHsmClusters ? { cloudHsmClusters: options.cloudHsmClusters } : {}),
    ...(options.xksClient ? { xksClient: options.xksClient } : {}),
    quotas: options.quotas ?? { resources: DEFAULT_RESOURCE_QUOTAS, requestRates: false },
    credentials: new Map([
      credential(ADMIN, adminCaller()),
      credential(OTHER, adminCaller(OTHER_ACCOUNT)),
      ...(options.principals ?? []).map((p) => credential(p.credentials, p.caller)),
    ]),
  }
  const logger = new CapturingLogger()
  const keyward = await createKeyward({
    store,
    rootKey: new SoftwareRootKey(Buffer.alloc(32, 7)),
    principals,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.dev ? { dev: true } : {}),
    ...(options.http ? { http: options.http } : {}),
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.readinessChecks ? { readinessChecks: options.readinessChecks } : {}),
  })
  const address = await keyward.listen(0, '127.0.0.1')
  const endpoint = `http://127.0.0.1:${address.port}`
  const clients: KMSClient[] = []
  return {
    endpoint,
    keyward,
    dataDir,
    logger,
    client: ({ region = 'us-east-1', credentials = ADMIN } = {}) => {
      const c = new KMSClient({ endpoint, region, credentials, maxAttempts: 1 })
      clients.push(c)
      return c
    },
    close: async () => {
      for (const c of clients) c.destroy()
      await keyward.close()
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
