import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { SoftwareBackend } from './adapters/backend-software/software-backend.js'
import { Pkcs11Backend } from './adapters/pkcs11/pkcs11-backend.js'
import { openSqliteKeyStore } from './adapters/store-sql/open-sqlite.js'
import { openPostgresKeyStore, redactUrl } from './adapters/store-pg/open-postgres.js'
import { XksBackend } from './adapters/xks/xks-backend.js'
import { Pkcs11RootKey, parsePkcs11Uri } from './adapters/root-key/pkcs11-root-key.js'
import { loadSoftwareRootKey } from './adapters/root-key/software-root-key.js'
import { SoftwareRootKeyRing } from './adapters/root-key/root-key-ring.js'
import { assertPrivateFile } from './config/file-permissions.js'
import {
  adminAccessKey,
  adminCaller,
  createPrincipalsFileIfMissing,
  knownPrincipal,
  PrincipalsHolder,
  readPrincipals,
  type Principals,
} from './config/principals.js'
import { DEFAULT_QUOTA_CONFIG } from './config/quotas.js'
import { RequestRateLimiter } from './domain/quotas.js'
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './config/http-limits.js'
import { createInvoke } from './core/invoke.js'
import type { AuditEvent, AuditSink } from './ports/audit-sink.js'
import { allowAll, type Authorizer } from './ports/authorizer.js'
import { systemClock, type Clock } from './ports/clock.js'
import type { KeyMaterialBackends } from './ports/key-material-backend.js'
import type { KeyStore } from './ports/key-store.js'
import { jsonLineLogger, LOG_LEVELS, type Logger } from './ports/logger.js'
import { systemRandom, type Random } from './ports/random.js'
import type { RootKey } from './ports/root-key.js'
import { applyChange, forgetPeriodically } from './services/cluster-changes.js'
import { CustomKeyStoreService } from './services/custom-key-stores.js'
import { auditReadinessCheck, coreReadinessChecks, type ReadinessCheck } from './services/health.js'
import { KeywardMetrics } from './services/metrics.js'
import { keyLastUseSink } from './services/key-last-use.js'
import { serviceEventReporter } from './services/service-events.js'
import { openFileAuditTrail, type AuditTrailSettings } from './adapters/audit-file/open.js'
import { KeyService } from './services/key-service.js'
import { ROTATION_SETTING } from './services/root-key-rotation.js'
import { changeLogTrimJob } from './services/store-changes.js'
import { PolicyAuthorizer, storedAliases } from './services/policy-authorizer.js'
import {
  importedMaterialExpiryJob,
  keyDeletionJob,
  keyRotationJob,
  Scheduler,
  transientStateJob,
} from './services/scheduler.js'
import { createConsoleRoute } from './wire/console-route.js'
import { createKmsRequestListener } from './wire/kms-http-handler.js'
import { createOpsEndpoints } from './wire/ops-endpoints.js'
import { createStsRequestListener, isStsRequest } from './sts/sts-http-handler.js'
import { openSessionTokens } from './sts/token-secret.js'
import { warmUpValidators } from './wire/validate-input.js'

/** Everything the server is made of. Only this file chooses implementations. */
export interface KeywardOptions {
  readonly store: KeyStore
  readonly rootKey: RootKey
  readonly principals: Principals
  readonly dev?: boolean
  readonly clock?: Clock
  readonly random?: Random
  readonly logger?: Logger
  /**
   * Decides whether each call may proceed (src/ports/authorizer.ts). Default: key policies,
   * identity policies and grants (src/services/policy-authorizer.ts); allow-all with `dev`.
   */
  readonly authorizer?: Authorizer
  /**
   * Also told of every finished call (src/ports/audit-sink.ts), after the last-use sink that
   * GetKeyLastUsage reads: where an audit trail is plugged in.
   */
  readonly audit?: AuditSink
  /** Scheduler period; one minute by default. */
  readonly schedulerIntervalMs?: number
  /** Bound of the key cache in bytes (`--key-cache-mb`); see KeyService. */
  readonly keyCacheBytes?: number
  /**
   * Whether this process runs the scheduled jobs (default true). With several worker processes
   * over one database only one of them does; the jobs would be correct anywhere (each re-checks
   * its key inside a transaction) but need not run twice.
   */
  readonly runScheduler?: boolean
  /**
   * Compile every request validator in the background once listening, so that no later first
   * request of an operation pays for it. Off by default (tests start many short-lived servers
   * that use a few operations each); the embedded preset turns it on.
   */
  readonly warmUp?: boolean
  /** Timeouts and connection cap of the HTTP server; {@link DEFAULT_HTTP_LIMITS} by default. */
  readonly http?: Partial<HttpLimits>
  /** Where `GET /metrics` is served; see {@link MetricsOptions}. Not served when absent. */
  readonly metrics?: MetricsOptions
  /**
   * More readiness checks for `GET /readyz`, after the store and root key checks (the audit
   * trail adds "audit writable" here).
   */
  readonly readinessChecks?: readonly ReadinessCheck[]
  /** The built web console served at /console (src/wire/console-route.ts); console/dist by default. */
  readonly consoleDir?: string
}

/**
 * `GET /metrics` (src/wire/ops-endpoints.ts): on the KMS port with a bearer token, and/or on
 * a port of its own (on the same host as the KMS port; with the token too when one is set).
 */
export interface MetricsOptions {
  /** `--metrics-token`: the bearer token a scrape must send. */
  readonly token?: string
  /** `--metrics-port`: serve `/metrics`, `/healthz` and `/readyz` on this port too (0: any). */
  readonly port?: number
  /** How long key counts read from the store are reused (default 30 s). */
  readonly inventoryTtlMs?: number
}

/**
 * The node:http server with `limits`. Node checks the header and request timeouts on a timer
 * (every 30 s by default, so a 10 s timeout would act after up to 40 s): check four times per
 * header timeout, at most once a second.
 */
function createLimitedServer(listener: RequestListener, limits: HttpLimits): Server {
  const server = createHttpServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    listener,
  )
  server.maxConnections = limits.maxConnections
  return server
}

/** A running Keyward. */
export interface Keyward {
  readonly server: Server
  /** The store the server was made with (tests inspect it; requests go through `keys`). */
  readonly store: KeyStore
  readonly keys: KeyService
  readonly customKeyStores: CustomKeyStoreService
  readonly scheduler: Scheduler
  /** The principals requests are checked against; `replace` swaps them (SIGHUP). */
  readonly principals: PrincipalsHolder
  /** The metrics registry (`GET /metrics`). */
  readonly metrics: KeywardMetrics
  /** The server of `--metrics-port`, once listening. */
  readonly metricsServer: () => Server | undefined
  /** Starts listening (and the metrics port, when set); resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo>
  /** Stops accepting connections, lets in-flight requests finish, stops jobs, closes the store. */
  close(): Promise<void>
}

/**
 * One JSON line per event on stderr, at the level of KEYWARD_LOG_LEVEL (`info` by default;
 * `debug` adds a line per request and aborted requests, which any peer can cause). An invalid
 * level falls back to `info` here; `keyward serve` refuses it before it starts.
 */
export const consoleLogger: Logger = jsonLineLogger({
  level: LOG_LEVELS.find((l) => l === process.env.KEYWARD_LOG_LEVEL) ?? 'info',
})

const ROOT_KEY_SETTING = 'root_key_fingerprint'

/** One sink that tells each of `sinks`, in order, and waits for (or asks) each that can refuse. */
const eachOf = (sinks: readonly AuditSink[]): AuditSink => {
  const refusing = sinks.filter((sink) => sink.written || sink.assertWritable)
  return {
    record: (event: AuditEvent) => {
      for (const sink of sinks) sink.record(event)
    },
    ...(refusing.length > 0
      ? {
          written: async () => {
            for (const sink of refusing) await sink.written?.()
          },
          assertWritable: () => {
            for (const sink of refusing) sink.assertWritable?.()
          },
        }
      : {}),
  }
}

/**
 * The composition root: wires a store, a root key and principals into the HTTP server.
 *
 * @example
 *   const kw = await createKeyward({ store, rootKey, principals, dev: true })
 *   await kw.listen(4566, '127.0.0.1')
 */
export async function createKeyward(options: KeywardOptions): Promise<Keyward> {
  const clock = options.clock ?? systemClock
  const random = options.random ?? systemRandom
  const logger = options.logger ?? consoleLogger
  await assertSameRootKey(options.store, options.rootKey)
  const principals = new PrincipalsHolder(options.principals)
  const quotas = options.principals.quotas ?? DEFAULT_QUOTA_CONFIG
  const keys = new KeyService({
    store: options.store,
    rootKey: options.rootKey,
    clock,
    random,
    quotas: quotas.resources,
    ...(options.keyCacheBytes ? { keyCacheBytes: options.keyCacheBytes } : {}),
  })
  // Request quotas are AWS's behaviour, and off in development mode, where the caller is
  // anyone's admin and tests may hammer one account. Each process counts its own requests.
  const requestRates =
    options.dev || quotas.requestRates === false
      ? undefined
      : new RequestRateLimiter(clock, quotas.requestRates)
  const clusters = options.principals.cloudHsmClusters
  // The key material backends; the origin table (src/domain/key-origins.ts) says which serves
  // a key. Software material and the inner layer of XKS keys are unwrapped and cached by
  // KeyService.
  const pkcs11 = new Pkcs11Backend({ clusters, rootKey: options.rootKey, random })
  const backends: KeyMaterialBackends = {
    software: new SoftwareBackend({ materials: keys, random }),
    pkcs11,
    xks: new XksBackend({
      materials: keys,
      rootKey: options.rootKey,
      random,
      // XKS proxy call latency and errors go to the metrics (KeywardMetrics.xksCall).
      settings: { ...options.principals.xksClient, observe: (call) => metrics.xksCall(call) },
      log: logger,
    }),
  }
  // The service's own changes (deletions, rotations, expiries, connections) in the trail.
  const report = options.audit ? serviceEventReporter(options.audit, { clock, random }) : undefined
  const customKeyStores = new CustomKeyStoreService({
    store: options.store,
    rootKey: options.rootKey,
    backends,
    clusters,
    random,
    logger,
    ...(report ? { report } : {}),
  })
  // Stores that were connected when Keyward stopped reconnect by themselves (in the
  // background: a slow or absent HSM or proxy must not hold up start-up).
  await customKeyStores.resume()
  const auditStatus = options.audit?.status?.bind(options.audit)
  const metrics = new KeywardMetrics({
    store: options.store,
    clock,
    customKeyStores,
    sessionPools: () => pkcs11.sessionPools(),
    ...(auditStatus ? { audit: auditStatus } : {}),
    ...(options.metrics?.inventoryTtlMs !== undefined
      ? { inventoryTtlMs: options.metrics.inventoryTtlMs }
      : {}),
  })
  const scheduler = new Scheduler({
    onRun: (job, outcome) => metrics.jobRan(job, outcome),
    jobs: [
      {
        name: 'delete keys whose waiting period ended',
        run: keyDeletionJob(keys, {
          destroyHsmMaterial: (key) => customKeyStores.destroyKeyMaterial(key),
          ...(report ? { report } : {}),
        }),
      },
      {
        name: 'delete imported key material that expired',
        run: importedMaterialExpiryJob(keys, report ? { report } : {}),
      },
      {
        name: 'rotate keys whose automatic rotation is due',
        run: keyRotationJob(keys, report ? { report } : {}),
      },
      { name: 'trim the change log', run: changeLogTrimJob(options.store) },
      { name: 'end transient multi-Region key states', run: transientStateJob(keys) },
    ],
    clock,
    logger,
    ...(options.schedulerIntervalMs ? { intervalMs: options.schedulerIntervalMs } : {}),
    ...(options.store.exclusive
      ? { exclusive: (name, fn) => options.store.exclusive!(name, fn) }
      : {}),
  })
  const invoke = createInvoke({
    keys,
    customKeyStores,
    backends,
    clock,
    random,
    authorizer:
      options.authorizer ??
      (options.dev
        ? allowAll
        : new PolicyAuthorizer({ grants: keys, aliases: storedAliases(keys), clock })),
    audit: options.audit
      ? eachOf([keyLastUseSink(keys, { withEventIds: true }), options.audit])
      : keyLastUseSink(keys),
    ...(options.dev
      ? {}
      : { principalExists: (arn: string) => knownPrincipal(principals.current(), arn) }),
  })
  const tokens = await openSessionTokens(options.store, options.rootKey)
  const devCaller = options.dev ? { devCaller: adminCaller() } : {}
  const sts = createStsRequestListener({ clock, principals, tokens, logger, ...devCaller })
  const readinessChecks = [
    ...coreReadinessChecks({ store: options.store, rootKey: options.rootKey }),
    ...(auditStatus ? [auditReadinessCheck(auditStatus)] : []),
    ...(options.readinessChecks ?? []),
  ]
  const ops = createOpsEndpoints({
    metrics,
    readinessChecks,
    ...(options.metrics?.token !== undefined ? { metricsToken: options.metrics.token } : {}),
  })
  const listener = createKmsRequestListener({
    invoke,
    customKeyStores,
    ops,
    metrics,
    clock,
    principals,
    logger,
    tokens,
    ...(options.audit ? { audit: options.audit } : {}),
    sts: { matches: isStsRequest, listener: sts },
    ...devCaller,
    ...(requestRates ? { requestRates } : {}),
  })
  // The web console (issue 16) is static files plus its mode; it calls KMS like any client.
  const consoleRoute = createConsoleRoute({
    ...(options.consoleDir ? { dir: options.consoleDir } : {}),
    config: () => ({ dev: options.dev === true, regions: principals.current().regions ?? [] }),
  })
  const server = createLimitedServer(
    (req, res) => {
      if (!consoleRoute(req, res)) listener(req, res)
    },
    { ...DEFAULT_HTTP_LIMITS, ...options.http },
  )
  let metricsServer: Server | undefined
  const warmUp = new AbortController()
  // Last-use tracking (GetKeyLastUsage) is written every 5 s and at shutdown, never per request.
  let saveUses: NodeJS.Timeout | undefined
  const logSaveFailure = (error: unknown) =>
    logger.error('saving key last-use times failed', { cause: String(error) })
  return {
    server,
    store: options.store,
    keys,
    customKeyStores,
    scheduler,
    principals,
    metrics,
    metricsServer: () => metricsServer,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, async () => {
          server.off('error', reject)
          if (options.metrics?.port !== undefined) {
            try {
              metricsServer = await listenForOps(
                { port: options.metrics.port, host },
                { metrics, readinessChecks, metricsToken: options.metrics.token },
              )
            } catch (error) {
              server.close()
              reject(error)
              return
            }
          }
          if (options.runScheduler !== false) {
            scheduler.start()
            customKeyStores.startHealthPolls(options.principals.xksClient?.healthCheckIntervalMs)
          }
          if (options.warmUp) void warmUpValidators(warmUp.signal)
          saveUses = setInterval(() => void keys.saveKeyUses().catch(logSaveFailure), 5_000)
          saveUses.unref()
          resolve(server.address() as AddressInfo)
        })
      }),
    close: async () => {
      warmUp.abort()
      await Promise.all(
        [server, metricsServer].map(
          (s) =>
            s &&
            new Promise<void>((resolve) => {
              s.close(() => resolve())
              s.closeIdleConnections()
            }),
        ),
      )
      await scheduler.stop()
      clearInterval(saveUses)
      await keys.saveKeyUses().catch(logSaveFailure)
      await customKeyStores.close()
      await Promise.all(Object.values(backends).map((backend) => backend.close()))
      await options.store.close()
    },
  }
}

/** The server of `--metrics-port`: the operator endpoints only, on the KMS host. */
function listenForOps(
  at: { port: number; host: string },
  options: Parameters<typeof createOpsEndpoints>[0] & { metricsToken: string | undefined },
): Promise<Server> {
  const { metricsToken, ...rest } = options
  const ops = createOpsEndpoints({
    ...rest,
    openMetrics: true,
    ...(metricsToken !== undefined ? { metricsToken } : {}),
  })
  const server = createHttpServer((req, res) => {
    if (ops(req, res)) return
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
    res.end('GET /metrics, /healthz or /readyz\n')
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(at.port, at.host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

/** The root key of `--root-key pkcs11:…`, with its PIN from KEYWARD_ROOT_KEY_PIN. */
export async function openPkcs11RootKey(
  uri: string,
  context: { env: NodeJS.ProcessEnv; recordedIn: string | undefined },
) {
  const pin = context.env.KEYWARD_ROOT_KEY_PIN
  if (!pin) throw new Error('--root-key pkcs11:… needs the token user PIN in KEYWARD_ROOT_KEY_PIN.')
  const location = parsePkcs11Uri(uri)
  const { rootKey } = await Pkcs11RootKey.open(location, {
    pin,
    ...(context.recordedIn !== undefined ? { recordedIn: context.recordedIn } : {}),
  })
  return {
    rootKey,
    source: `PKCS#11 object ${location.objectLabel} in ${location.modulePath}`,
    close: () => rootKey.close(),
  }
}

/** Refuses to start over a database whose material was wrapped under another root key. */
async function assertSameRootKey(store: KeyStore, rootKey: RootKey): Promise<void> {
  // initSetting: of several nodes starting at once on a new database, one root key wins and
  // every other is compared with it (a plain set would let the last writer win).
  const stored = await store.initSetting(ROOT_KEY_SETTING, rootKey.fingerprint)
  if (stored !== rootKey.fingerprint && !holdsKey(rootKey, stored)) {
    throw new Error(
      'The root key does not match the one this database was created with; refusing to start (the keys would be unreadable).',
    )
  }
}

/** Whether `rootKey` is a ring of root keys (root-key rotate) that holds `fingerprint`. */
const holdsKey = (rootKey: RootKey, fingerprint: string) =>
  rootKey instanceof SoftwareRootKeyRing && rootKey.has(fingerprint)

/**
 * The root key new values are wrapped under: the target of a rotation in progress, else the
 * one the database records (src/services/root-key-rotation.ts).
 */
async function designatedRootKey(store: KeyStore): Promise<string | undefined> {
  const rotation = await store.getSetting(ROTATION_SETTING)
  if (rotation !== undefined) return (JSON.parse(rotation) as { to: string }).to
  return store.getSetting(ROOT_KEY_SETTING)
}

/**
 * How often a server over a root key ring looks for a rotation another process started or
 * finished, to wrap new values under the new key (what it wrapped under the old one in the
 * meantime, the rotation's final sweep re-wraps).
 */
const ROOT_KEY_FOLLOW_MS = 1_000

/** Settings of the embedded default: SQLite and a root key file in one data directory. */
export interface EmbeddedOptions {
  readonly dataDir: string
  readonly dev?: boolean
  /**
   * The principals file (`--config`). It must exist; only the default,
   * `<dataDir>/principals.json`, is created on first start.
   */
  readonly configPath?: string
  readonly env?: NodeJS.ProcessEnv
  readonly clock?: Clock
  readonly logger?: Logger
  /** See KeywardOptions.runScheduler. */
  readonly runScheduler?: boolean
  /** Several Keyward processes share the database (`keyward serve --workers N`). */
  readonly sharedWithOtherProcesses?: boolean
  /**
   * A PKCS#11 URI (`--root-key pkcs11:…`): the root key is an AES-256 key in that token, and
   * `env.KEYWARD_ROOT_KEY_PIN` is the token's user PIN. Without it, the software root key.
   */
  readonly rootKeyUri?: string
  /**
   * `--allow-insecure-permissions`: start, with a warning, when root.key or the principals
   * file can be read by other users (refused otherwise).
   */
  readonly allowInsecurePermissions?: boolean
  /** See KeywardOptions.http. */
  readonly http?: Partial<HttpLimits>
  /** See KeywardOptions.metrics. */
  readonly metrics?: MetricsOptions
  /** See KeywardOptions.keyCacheBytes. */
  readonly keyCacheBytes?: number
  /**
   * The audit trail (`--audit-dir`, `--audit-required`): JSON-lines files under
   * `<dataDir>/audit` by default; `false` for none (`--no-audit`).
   */
  readonly audit?: AuditTrailSettings | false
  /**
   * `--store postgres://…`: keep the keys in PostgreSQL instead of `<dataDir>/keyward.db`, so
   * that several nodes share them. The root key and principals stay the node's own.
   */
  readonly storeUrl?: string
  /**
   * With a PostgreSQL store: the longest a node keeps a cached key without hearing of a
   * change (the safety net under LISTEN/NOTIFY); 5 s by default.
   */
  readonly cacheTtlMs?: number
}

/** How long a node caches a key over PostgreSQL when no notification says otherwise. */
export const DEFAULT_SHARED_CACHE_TTL_MS = 5_000

/**
 * The embedded preset's store: `<dataDir>/keyward.db`, or PostgreSQL for `storeUrl`. For
 * PostgreSQL, other nodes' changes reach this node's caches through `follow` once they exist.
 */
async function openEmbeddedStore(options: EmbeddedOptions) {
  if (options.storeUrl === undefined) {
    const databasePath = join(options.dataDir, 'keyward.db')
    const store = await openSqliteKeyStore(databasePath, {
      sharedWithOtherProcesses: options.sharedWithOtherProcesses === true,
    })
    return { store, label: databasePath, follow: undefined }
  }
  let targets: Parameters<typeof applyChange>[0] | undefined
  const store = await openPostgresKeyStore(options.storeUrl, {
    onChange: (changed) => {
      if (targets) applyChange(targets, changed)
    },
  })
  const ttlMs = options.cacheTtlMs ?? DEFAULT_SHARED_CACHE_TTL_MS
  const follow = (keyward: Keyward) => {
    targets = keyward
    return forgetPeriodically(keyward, ttlMs)
  }
  return { store, label: redactUrl(options.storeUrl), follow }
}

/** The admin credential from KEYWARD_ROOT_ACCESS_KEY_ID / KEYWARD_ROOT_SECRET_ACCESS_KEY. */
function rootAccessFrom(env: NodeJS.ProcessEnv) {
  const accessKeyId = env.KEYWARD_ROOT_ACCESS_KEY_ID || undefined
  const secretAccessKey = env.KEYWARD_ROOT_SECRET_ACCESS_KEY || undefined
  // Half a credential would silently become a generated secret nobody knows: refuse it.
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error(
      'KEYWARD_ROOT_ACCESS_KEY_ID and KEYWARD_ROOT_SECRET_ACCESS_KEY must be set together.',
    )
  }
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined
}

/** Where the principals come from, and how to read them again (SIGHUP). */
export interface PrincipalsSource {
  readonly configPath: string
  /** Reads and checks the file (permissions included); throws, naming the file, when it is bad. */
  read(): Principals
  /** The admin's access key, when the file or the environment has one. */
  adminAccessKeyId(principals: Principals): string | undefined
}

/**
 * The principals file of a data directory, as `serve` and `credentials` read it: `--config`
 * must name an existing file (never a new admin key written to a mistyped path); the default
 * `<dataDir>/principals.json` is created on first start. Returns the created access key ID.
 *
 * @example
 *   const { source } = openPrincipals({ dataDir: '/root/.keyward' })
 *   const principals = source.read()
 */
export function openPrincipals(
  options: Pick<EmbeddedOptions, 'dataDir' | 'configPath' | 'env' | 'allowInsecurePermissions'> & {
    readonly create?: boolean
    readonly warn?: (message: string) => void
  },
): { source: PrincipalsSource; createdAccessKeyId: string | undefined } {
  const rootAccess = rootAccessFrom(options.env ?? process.env)
  const configPath = options.configPath ?? join(options.dataDir, 'principals.json')
  if (options.configPath !== undefined && !existsSync(configPath)) {
    throw new Error(
      `The principals file ${configPath} (--config / KEYWARD_CONFIG) does not exist. Create it (see the README, "Principals"), or leave --config out to use ${join(options.dataDir, 'principals.json')}, created on first start.`,
    )
  }
  let createdAccessKeyId: string | undefined
  if (options.create !== false) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
    createdAccessKeyId = createPrincipalsFileIfMissing(configPath, rootAccess ?? {})
  }
  const source: PrincipalsSource = {
    configPath,
    read: () => {
      assertPrivateFile(configPath, {
        what: 'principals',
        allowInsecure: options.allowInsecurePermissions === true,
        ...(options.warn ? { warn: options.warn } : {}),
      })
      return readPrincipals(configPath, rootAccess)
    },
    adminAccessKeyId: (principals) =>
      adminAccessKey(principals, rootAccess?.accessKeyId)?.accessKeyId,
  }
  return { source, createdAccessKeyId }
}

/**
 * The embedded preset: everything in `dataDir` (keyward.db, root.key, principals.json),
 * created on first start. Every refusal names the file or setting it is about.
 *
 * @example
 *   const { keyward } = await createEmbeddedKeyward({ dataDir: '/root/.keyward' })
 *   await keyward.listen(7878, '127.0.0.1')
 */
export async function createEmbeddedKeyward(options: EmbeddedOptions) {
  const env = options.env ?? process.env
  const logger = options.logger ?? consoleLogger
  const warn = (message: string) => logger.error(message)
  const { source, createdAccessKeyId } = openPrincipals({ ...options, env, warn })
  const principals = source.read()
  const legacy = principals.legacyAdministrators ?? []
  if (legacy.length > 0 && !options.dev) {
    // Issue 12: a file written before identity policies keeps its meaning, and says so once.
    logger.info(
      `${legacy.length} user(s) of ${source.configPath} have no "policies" member and are administrators (Action "*" on Resource "*"): ${legacy.join(', ')}. Give each a "policies" list to restrict it.`,
    )
  }
  const { store, label: databasePath, follow } = await openEmbeddedStore(options)
  let root: { rootKey: RootKey; source: string; close?: () => Promise<void> }
  try {
    root = await openRootKey(options, { env, store, databasePath, warn })
  } catch (error) {
    await store.close()
    throw error
  }
  let keyward: Keyward
  let trail: Awaited<ReturnType<typeof openFileAuditTrail>> | undefined
  try {
    trail =
      options.audit === false
        ? undefined
        : await openFileAuditTrail(options.dataDir, {
            settings: options.audit ?? {},
            clock: options.clock ?? systemClock,
            logger,
          })
    keyward = await createKeyward({
      store,
      rootKey: root.rootKey,
      principals,
      warmUp: true,
      ...(trail ? { audit: trail.sink() } : {}),
      ...(options.http ? { http: options.http } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.keyCacheBytes ? { keyCacheBytes: options.keyCacheBytes } : {}),
      ...(options.runScheduler === false ? { runScheduler: false } : {}),
      ...(options.dev ? { dev: true } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    })
  } catch (error) {
    // This function opened the store, so it closes it when start-up fails (wrong root key).
    await store.close()
    await root.close?.()
    await trail?.close()
    throw error
  }
  if (trail) {
    // Closed after the server, so that the last calls' events are written and digested.
    const closeTrail = trail
    const closeKeyward = keyward.close
    keyward = { ...keyward, close: () => closeKeyward().finally(() => closeTrail.close()) }
  }
  if (root.close) {
    const closeRootKey = root.close
    const closeKeyward = keyward.close
    keyward = { ...keyward, close: () => closeKeyward().finally(closeRootKey) }
  }
  if (root.rootKey instanceof SoftwareRootKeyRing) {
    const ring = root.rootKey
    const followRing = setInterval(() => {
      designatedRootKey(store).then(
        (fingerprint) => fingerprint !== undefined && ring.usePrimary(fingerprint),
        (error: unknown) =>
          logger.error('reading the root key setting failed', { cause: String(error) }),
      )
    }, ROOT_KEY_FOLLOW_MS)
    followRing.unref()
    const closeKeyward = keyward.close
    keyward = {
      ...keyward,
      close: () => {
        clearInterval(followRing)
        return closeKeyward()
      },
    }
  }
  if (follow) {
    const stopFollowing = follow(keyward)
    const closeKeyward = keyward.close
    keyward = {
      ...keyward,
      close: () => {
        stopFollowing()
        return closeKeyward()
      },
    }
  }
  const started = keyward
  return {
    keyward,
    configPath: source.configPath,
    createdAccessKeyId,
    /** The admin access key in force at start (printed on every start). */
    adminAccessKeyId: source.adminAccessKeyId(principals),
    principals,
    rootKeySource: root.source,
    /**
     * Rereads the principals file and puts it in force (SIGHUP). A bad file throws, naming
     * itself, and the principals in force stay. Accounts, users, access keys and `regions`
     * change; `cloudHsmClusters` and `xksClient` are read at start only.
     */
    reloadPrincipals: (): Principals => {
      const next = source.read()
      started.principals.replace(next)
      return next
    },
  }
}

/**
 * The root key: PKCS#11, KEYWARD_ROOT_KEY or root.key, never a new root.key when the database
 * already records one; a root key that is not the database's is refused, naming both.
 */
async function openRootKey(
  options: EmbeddedOptions,
  context: {
    env: NodeJS.ProcessEnv
    store: KeyStore
    databasePath: string
    warn: (message: string) => void
  },
): Promise<{ rootKey: RootKey; source: string; close?: () => Promise<void> }> {
  const recorded = await context.store.getSetting(ROOT_KEY_SETTING)
  const root: { rootKey: RootKey; source: string; close?: () => Promise<void> } = options.rootKeyUri
    ? await openPkcs11RootKey(options.rootKeyUri, {
        env: context.env,
        recordedIn: recorded !== undefined ? context.databasePath : undefined,
      })
    : openSoftwareRootKey(options, { ...context, recorded })
  // A ring (root.key with the keys of a rotation) wraps under the key the database designates.
  const designated = await designatedRootKey(context.store)
  if (root.rootKey instanceof SoftwareRootKeyRing && designated !== undefined) {
    root.rootKey.usePrimary(designated)
  }
  if (
    recorded !== undefined &&
    recorded !== root.rootKey.fingerprint &&
    !holdsKey(root.rootKey, recorded)
  ) {
    await root.close?.()
    throw new Error(
      `The root key (${root.source}) does not match the one the database ${context.databasePath} was created with; refusing to start (the keys would be unreadable).`,
    )
  }
  return root
}

/** KEYWARD_ROOT_KEY or root.key (created only for a database that records no root key yet). */
function openSoftwareRootKey(
  options: EmbeddedOptions,
  context: {
    env: NodeJS.ProcessEnv
    databasePath: string
    recorded: string | undefined
    warn: (message: string) => void
  },
): { rootKey: RootKey; source: string } {
  const path = join(options.dataDir, 'root.key')
  const root = loadSoftwareRootKey({
    path,
    env: context.env.KEYWARD_ROOT_KEY,
    ...(context.recorded !== undefined ? { recordedIn: context.databasePath } : {}),
  })
  if (root.source === path) {
    assertPrivateFile(path, {
      what: 'root key',
      allowInsecure: options.allowInsecurePermissions === true,
      warn: context.warn,
    })
    // With the key files of `keyward root-key rotate`, in progress or done.
    return {
      ...root,
      rootKey: SoftwareRootKeyRing.open({ dataDir: options.dataDir, primary: root.rootKey }),
    }
  }
  return root
}
