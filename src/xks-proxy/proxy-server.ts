import { mkdirSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { XksProxyStore } from '../adapters/store-sql/xks-proxy-store.js'
import { loadSoftwareRootKey } from '../adapters/root-key/software-root-key.js'
import { systemClock, type Clock } from '../ports/clock.js'
import { credentialTable } from './authenticate.js'
import { LocalKeyManager } from './backends/local-key-manager.js'
import { Pkcs11KeyManager } from './backends/pkcs11-key-manager.js'
import type { XksProxySettings, XksTlsMaterial } from './config.js'
import { isXksError } from './errors.js'
import { HealthChecker } from './health.js'
import type { XksKeyManager } from './key-manager.js'
import { jsonLineLogger, type XksLogger } from './request-log.js'
import { TokenBucket } from './throttle.js'
import {
  answerPing,
  createXksRequestListener,
  type KeyStoreRuntime,
  type XksRuntime,
} from './xks-http-handler.js'

/**
 * The XKS proxy's composition root: `keyward xks-proxy serve` and the tests build it here. It
 * shares only generic modules with Keyward's KMS (SigV4, the PKCS#11 adapter, the software
 * root key); its data directory, database and root key are its own.
 */

/**
 * TLS 1.2 and 1.3 with forward-secret AEAD suites only; the spec asks for one of
 * TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 (1.3) or ECDHE-*-AES256-GCM-SHA384 (1.2).
 */
const CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':')

/** AWS KMS keeps connections open; outlive its idle time so it rarely meets a closed one. */
const KEEP_ALIVE_MS = 65_000

/** Where the proxy's root key and database live. */
const ROOT_KEY_FILE = 'root.key'
const DATABASE_FILE = 'xks-proxy.db'
const ROOT_KEY_SETTING = 'root_key_fingerprint'

export interface XksProxyDeps {
  readonly logger?: XksLogger
  readonly clock?: Clock
  /** For KEYWARD_XKS_ROOT_KEY (base64 of 32 bytes, instead of <dataDir>/root.key). */
  readonly env?: NodeJS.ProcessEnv
}

/** The proxy's database and key manager, opened from the settings. */
export interface XksBackend {
  readonly store: XksProxyStore
  readonly keyManager: XksKeyManager
  close(): Promise<void>
}

/**
 * Opens the data directory (its database and, for the local keystore, its root key) and the
 * key manager. The CLI's key commands use this without starting a server.
 *
 * @throws Error when the root key does not match the database, or the token cannot be opened
 * @example
 *   const backend = await openXksBackend(settings)
 *   await backend.keyManager.createKey('foo', { usage: ['ENCRYPT', 'DECRYPT'] })
 *   await backend.close()
 */
export async function openXksBackend(
  settings: XksProxySettings,
  deps: Pick<XksProxyDeps, 'env'> = {},
): Promise<XksBackend> {
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 })
  const store = await XksProxyStore.open(join(settings.dataDir, DATABASE_FILE))
  try {
    let keyManager: XksKeyManager
    if (settings.backend.type === 'local') {
      const { rootKey } = loadSoftwareRootKey({
        path: join(settings.dataDir, ROOT_KEY_FILE),
        env: deps.env?.KEYWARD_XKS_ROOT_KEY,
      })
      const stored = await store.initSetting(ROOT_KEY_SETTING, rootKey.fingerprint)
      if (stored !== rootKey.fingerprint) {
        throw new Error(
          `the root key (fingerprint ${rootKey.fingerprint}) is not the one the keys in ${settings.dataDir} are wrapped under (${stored})`,
        )
      }
      keyManager = new LocalKeyManager(store, rootKey)
    } else {
      const { modulePath, tokenLabel, tokenSerial, poolSize } = settings.backend
      keyManager = await Pkcs11KeyManager.open({
        modulePath,
        ...(tokenLabel !== undefined ? { tokenLabel } : {}),
        ...(tokenSerial !== undefined ? { tokenSerial } : {}),
        pin: settings.pin ?? '',
        ...(poolSize !== undefined ? { poolSize } : {}),
      })
    }
    return {
      store,
      keyManager,
      close: async () => {
        await keyManager.close()
        await store.close()
      },
    }
  } catch (error) {
    await store.close()
    throw error
  }
}

/** A running proxy. */
export interface XksProxy {
  readonly keyManager: XksKeyManager
  readonly store: XksProxyStore
  readonly health: HealthChecker
  /** Starts listening (and the ping port, if configured); resolves with the URLs. */
  listen(): Promise<{ url: string; port: number; pingUrl?: string }>
  /**
   * Applies new settings without a restart: credentials, key lists, rules, quotas, the Region
   * and the TLS certificate. Returns the settings that need a restart to take effect.
   */
  reload(settings: XksProxySettings): string[]
  /** Stops accepting connections, lets in-flight requests finish, closes the key manager. */
  close(): Promise<void>
}

function runtimeOf(settings: XksProxySettings, now: number): XksRuntime {
  const keyStores = new Map<string, KeyStoreRuntime>()
  for (const s of settings.keyStores) {
    keyStores.set(s.uriPath, {
      uriPath: s.uriPath,
      credentials: credentialTable(s.credentials),
      ...(s.keys ? { keys: s.keys } : {}),
      ...(s.rules ? { rules: s.rules } : {}),
      ...(s.throttle ? { bucket: new TokenBucket(s.throttle, now) } : {}),
    })
  }
  return { region: settings.region, keyStores }
}

/** Whether a client certificate names one of `names` (subject CN or a DNS SAN), exactly. */
function certificateNames(socket: TLSSocket): string[] {
  const cert = socket.getPeerCertificate()
  const names: string[] = []
  const cn = cert?.subject?.CN as string | string[] | undefined
  if (Array.isArray(cn)) names.push(...cn)
  else if (cn) names.push(cn)
  for (const entry of (cert?.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(entry)
    if (m) names.push(m[1]!.trim())
  }
  return names.map((n) => n.toLowerCase())
}

function tlsOptions(tls: XksTlsMaterial): ServerOptions {
  return {
    cert: tls.certPem,
    key: tls.keyPem,
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
    honorCipherOrder: true,
    ...(tls.clientCaPem
      ? // Mutual TLS: OpenSSL aborts the handshake for a certificate not chained to the CA.
        { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: true }
      : {}),
  }
}

/** Ensures the dedicated health-check key exists (created with both usages when missing). */
async function ensureHealthKey(keyManager: XksKeyManager, id: string, logger: XksLogger) {
  try {
    await keyManager.describeKey(id)
  } catch (error) {
    if (!isXksError(error) || error.errorName !== 'KeyNotFoundException') throw error
    await keyManager.createKey(id, { usage: ['ENCRYPT', 'DECRYPT'] })
    logger.info('created the health-check key', { keyId: id, backend: keyManager.kind })
  }
}

/**
 * Builds the proxy from its settings (not yet listening).
 *
 * @example
 *   const proxy = await createXksProxy(resolveXksProxyConfig(readXksProxyConfig(path), process.env))
 *   const { url } = await proxy.listen()
 */
export async function createXksProxy(
  settings: XksProxySettings,
  deps: XksProxyDeps = {},
): Promise<XksProxy> {
  const logger = deps.logger ?? jsonLineLogger
  const clock = deps.clock ?? systemClock
  const backend = await openXksBackend(settings, deps)
  try {
    await ensureHealthKey(backend.keyManager, settings.healthKeyId, logger)
  } catch (error) {
    // A health key that cannot be made shows as UNAVAILABLE in health answers, not a crash.
    logger.error('cannot create the health-check key', { cause: String(error) })
  }
  const health = new HealthChecker({
    keyManager: backend.keyManager,
    healthKeyId: settings.healthKeyId,
    clock,
    cacheMs: settings.healthCacheSeconds * 1000,
  })
  // A first check before serving: the first GetHealthStatus (KMS's CreateCustomKeyStore or
  // ConnectCustomKeyStore) then never waits for a cold one.
  const warm = await health.refresh()
  if (warm.healthStatus === 'UNAVAILABLE') {
    logger.warn('the key manager failed its first health check', { cause: warm.problem })
  }
  let current = settings
  let runtime = runtimeOf(settings, clock.now())
  const listener = createXksRequestListener({
    runtime: () => runtime,
    context: {
      keyManager: backend.keyManager,
      store: backend.store,
      health,
      limits: settings.limits,
      fleetSize: settings.fleetSize,
    },
    limits: settings.limits,
    clock,
    logger,
  })
  const tls = settings.tls
  const server: Server = tls
    ? createHttpsServer(tlsOptions(tls), listener)
    : createHttpServer(listener)
  server.keepAliveTimeout = KEEP_ALIVE_MS
  server.headersTimeout = KEEP_ALIVE_MS + 5_000
  let allowed = new Set((tls?.clientNames ?? []).map((n) => n.toLowerCase()))
  if (tls?.clientCaPem) {
    // The spec: with mTLS the proxy MUST also check the subject name and end the connection
    // otherwise. Node offers no hook inside the handshake, so this runs as soon as it is done,
    // before any request on the connection is read.
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const names = certificateNames(socket)
      if (!names.some((n) => allowed.has(n))) {
        logger.warn('mTLS client certificate refused', {
          names,
          remoteAddress: socket.remoteAddress,
        })
        socket.destroy()
      }
    })
  }
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    logger.warn('TLS handshake failed', {
      cause: error.message,
      remoteAddress: socket.remoteAddress,
    })
  })
  const ping = settings.pingPort !== undefined ? createHttpServer(answerPing) : undefined

  const listenOn = (s: Server, port: number): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, settings.host, () => {
        s.off('error', reject)
        resolve(s.address() as AddressInfo)
      })
    })
  const hostInUrl = (a: AddressInfo) => (a.family === 'IPv6' ? `[${a.address}]` : a.address)

  return {
    keyManager: backend.keyManager,
    store: backend.store,
    health,
    async listen() {
      const address = await listenOn(server, settings.port)
      const url = `${tls ? 'https' : 'http'}://${hostInUrl(address)}:${address.port}`
      if (!ping) return { url, port: address.port }
      const pingAddress = await listenOn(ping, settings.pingPort!)
      return {
        url,
        port: address.port,
        pingUrl: `http://${hostInUrl(pingAddress)}:${pingAddress.port}/ping`,
      }
    },
    reload(next) {
      const restart: string[] = []
      for (const key of [
        'host',
        'port',
        'pingPort',
        'plainHttp',
        'dataDir',
        'healthKeyId',
        'healthCacheSeconds',
        'fleetSize',
      ] as const) {
        if (JSON.stringify(next[key]) !== JSON.stringify(current[key])) restart.push(key)
      }
      if (
        JSON.stringify(next.backend) !== JSON.stringify(current.backend) ||
        next.pin !== current.pin
      )
        restart.push('backend')
      if (JSON.stringify(next.limits) !== JSON.stringify(current.limits)) restart.push('limits')
      // Mutual TLS on or off is a server option; its CA, names and the certificate are not.
      if (
        Boolean(next.tls) !== Boolean(tls) ||
        Boolean(next.tls?.clientCaPem) !== Boolean(tls?.clientCaPem)
      ) {
        restart.push('tls')
      } else if (tls && next.tls) {
        ;(server as unknown as { setSecureContext(o: ServerOptions): void }).setSecureContext(
          tlsOptions(next.tls),
        )
        allowed = new Set((next.tls.clientNames ?? []).map((n) => n.toLowerCase()))
      }
      runtime = runtimeOf(next, clock.now())
      current = next
      return restart
    },
    async close() {
      const closed = (s: Server) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve()
          s.close(() => resolve())
          s.closeIdleConnections()
        })
      await Promise.all([closed(server), ...(ping ? [closed(ping)] : [])])
      await backend.close()
    },
  }
}
