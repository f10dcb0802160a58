import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { openSqliteKeyStore } from './adapters/store-sql/open-sqlite.js'
import { Pkcs11RootKey, parsePkcs11Uri } from './adapters/root-key/pkcs11-root-key.js'
import { loadSoftwareRootKey } from './adapters/root-key/software-root-key.js'
import {
  adminCaller,
  createPrincipalsFileIfMissing,
  readPrincipals,
  type Principals,
} from './config/principals.js'
import { createInvoke } from './core/invoke.js'
import type { AuditEvent, AuditSink } from './ports/audit-sink.js'
import { allowAll, type Authorizer } from './ports/authorizer.js'
import { systemClock, type Clock } from './ports/clock.js'
import type { KeyStore } from './ports/key-store.js'
import { jsonLineLogger, type Logger } from './ports/logger.js'
import { systemRandom, type Random } from './ports/random.js'
import type { RootKey } from './ports/root-key.js'
import { CustomKeyStoreService } from './services/custom-key-stores.js'
import { keyLastUseSink } from './services/key-last-use.js'
import { KeyService } from './services/key-service.js'
import {
  importedMaterialExpiryJob,
  keyDeletionJob,
  keyRotationJob,
  Scheduler,
} from './services/scheduler.js'
import { createKmsRequestListener } from './wire/kms-http-handler.js'
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
   * Decides whether each call may proceed (src/ports/authorizer.ts). Default: allow all, the
   * access rules of today being enforced where keys are resolved.
   */
  readonly authorizer?: Authorizer
  /**
   * Also told of every finished call (src/ports/audit-sink.ts), after the last-use sink that
   * GetKeyLastUsage reads: where an audit trail is plugged in.
   */
  readonly audit?: AuditSink
  /** Scheduler period; one minute by default. */
  readonly schedulerIntervalMs?: number
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
}

/** A running Keyward. */
export interface Keyward {
  readonly server: Server
  /** The store the server was made with (tests inspect it; requests go through `keys`). */
  readonly store: KeyStore
  readonly keys: KeyService
  readonly customKeyStores: CustomKeyStoreService
  readonly scheduler: Scheduler
  /** Starts listening; resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo>
  /** Stops accepting connections, lets in-flight requests finish, stops jobs, closes the store. */
  close(): Promise<void>
}

/** One JSON line per event on stderr; debug lines are dropped. */
export const consoleLogger: Logger = jsonLineLogger()

const ROOT_KEY_SETTING = 'root_key_fingerprint'

/** One sink that tells each of `sinks`, in order. */
const eachOf = (sinks: readonly AuditSink[]): AuditSink => ({
  record: (event: AuditEvent) => {
    for (const sink of sinks) sink.record(event)
  },
})

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
  const keys = new KeyService({ store: options.store, rootKey: options.rootKey, clock, random })
  const customKeyStores = new CustomKeyStoreService({
    store: options.store,
    rootKey: options.rootKey,
    random,
    logger,
    ...(options.principals.xksClient ? { xks: options.principals.xksClient } : {}),
    ...(options.principals.cloudHsmClusters
      ? { clusters: options.principals.cloudHsmClusters }
      : {}),
  })
  // Stores that were connected when Keyward stopped reconnect by themselves (in the
  // background: a slow or absent HSM or proxy must not hold up start-up).
  await customKeyStores.resume()
  const scheduler = new Scheduler({
    jobs: [
      {
        name: 'delete keys whose waiting period ended',
        run: keyDeletionJob(keys, {
          destroyHsmMaterial: (key) => customKeyStores.destroyKeyMaterial(key),
        }),
      },
      { name: 'delete imported key material that expired', run: importedMaterialExpiryJob(keys) },
      { name: 'rotate keys whose automatic rotation is due', run: keyRotationJob(keys) },
    ],
    clock,
    logger,
    ...(options.schedulerIntervalMs ? { intervalMs: options.schedulerIntervalMs } : {}),
  })
  const invoke = createInvoke({
    keys,
    customKeyStores,
    clock,
    random,
    authorizer: options.authorizer ?? allowAll,
    audit: options.audit ? eachOf([keyLastUseSink(keys), options.audit]) : keyLastUseSink(keys),
  })
  const listener = createKmsRequestListener({
    invoke,
    customKeyStores,
    clock,
    principals: options.principals,
    logger,
    ...(options.dev ? { devCaller: adminCaller() } : {}),
  })
  const server = createHttpServer({ keepAliveTimeout: 65_000 }, listener)
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
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
      await scheduler.stop()
      clearInterval(saveUses)
      await keys.saveKeyUses().catch(logSaveFailure)
      await customKeyStores.close()
      await options.store.close()
    },
  }
}

/** The root key of `--root-key pkcs11:…`, with its PIN from KEYWARD_ROOT_KEY_PIN. */
async function openPkcs11RootKey(uri: string, env: NodeJS.ProcessEnv) {
  const pin = env.KEYWARD_ROOT_KEY_PIN
  if (!pin) throw new Error('--root-key pkcs11:… needs the token user PIN in KEYWARD_ROOT_KEY_PIN.')
  const location = parsePkcs11Uri(uri)
  const { rootKey } = await Pkcs11RootKey.open(location, { pin })
  return {
    rootKey,
    source: `PKCS#11 object ${location.objectLabel} in ${location.modulePath}`,
    close: () => rootKey.close(),
  }
}

/** Refuses to start over a database whose material was wrapped under another root key. */
async function assertSameRootKey(store: KeyStore, rootKey: RootKey): Promise<void> {
  const stored = await store.getSetting(ROOT_KEY_SETTING)
  if (stored === undefined) await store.setSetting(ROOT_KEY_SETTING, rootKey.fingerprint)
  else if (stored !== rootKey.fingerprint) {
    throw new Error(
      'The root key does not match the one this database was created with; refusing to start (the keys would be unreadable).',
    )
  }
}

/** Settings of the embedded default: SQLite and a root key file in one data directory. */
export interface EmbeddedOptions {
  readonly dataDir: string
  readonly dev?: boolean
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
}

/**
 * The embedded preset: everything in `dataDir` (keyward.db, root.key, principals.json),
 * created on first start.
 */
export async function createEmbeddedKeyward(options: EmbeddedOptions) {
  const env = options.env ?? process.env
  const rootAccess = {
    accessKeyId: env.KEYWARD_ROOT_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.KEYWARD_ROOT_SECRET_ACCESS_KEY || undefined,
  }
  // Half a credential would silently become a generated secret nobody knows: refuse it.
  if ((rootAccess.accessKeyId === undefined) !== (rootAccess.secretAccessKey === undefined)) {
    throw new Error(
      'KEYWARD_ROOT_ACCESS_KEY_ID and KEYWARD_ROOT_SECRET_ACCESS_KEY must be set together.',
    )
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const configPath = options.configPath ?? join(options.dataDir, 'principals.json')
  const createdAccessKeyId = createPrincipalsFileIfMissing(configPath, rootAccess)
  const principals = readPrincipals(
    configPath,
    rootAccess.accessKeyId && rootAccess.secretAccessKey
      ? { accessKeyId: rootAccess.accessKeyId, secretAccessKey: rootAccess.secretAccessKey }
      : undefined,
  )
  const root: { rootKey: RootKey; source: string; close?: () => Promise<void> } = options.rootKeyUri
    ? await openPkcs11RootKey(options.rootKeyUri, env)
    : loadSoftwareRootKey({ path: join(options.dataDir, 'root.key'), env: env.KEYWARD_ROOT_KEY })
  let store: KeyStore
  try {
    store = await openSqliteKeyStore(join(options.dataDir, 'keyward.db'), {
      sharedWithOtherProcesses: options.sharedWithOtherProcesses === true,
    })
  } catch (error) {
    await root.close?.()
    throw error
  }
  let keyward: Keyward
  try {
    keyward = await createKeyward({
      store,
      rootKey: root.rootKey,
      principals,
      warmUp: true,
      ...(options.runScheduler === false ? { runScheduler: false } : {}),
      ...(options.dev ? { dev: true } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    })
  } catch (error) {
    // This function opened the store, so it closes it when start-up fails (wrong root key).
    await store.close()
    await root.close?.()
    throw error
  }
  if (root.close) {
    const closeRootKey = root.close
    const closeKeyward = keyward.close
    keyward = { ...keyward, close: () => closeKeyward().finally(closeRootKey) }
  }
  return { keyward, configPath, createdAccessKeyId, principals, rootKeySource: root.source }
}
