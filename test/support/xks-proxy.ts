import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEFAULT_HEALTH_KEY_ID,
  DEFAULT_LIMITS,
  type XksProxySettings,
} from '../../src/xks-proxy/config.js'
import { generateCredential } from '../../src/xks-proxy/credentials.js'
import { createXksProxy, type XksProxy } from '../../src/xks-proxy/proxy-server.js'
import type { XksLogger } from '../../src/xks-proxy/request-log.js'
import { createTestPki, type TestPki } from './test-pki.js'

/** Keyward's XKS proxy running in this process, for end-to-end tests of the KMS side. */
export interface RunningXksProxy {
  /** 'https://localhost:<port>' (no trailing slash). */
  readonly endpoint: string
  /** e.g. '/tenant-a/kms/xks/v1'. */
  readonly uriPath: string
  readonly credential: { AccessKeyId: string; RawSecretAccessKey: string }
  /** CA that signed the proxy's certificate. */
  readonly caCertPem: string
  createKey(id: string, options?: { usage?: Array<'ENCRYPT' | 'DECRYPT'> }): Promise<void>
  deleteKey(id: string): Promise<void>
  disableKey(id: string): Promise<void>
  stop(): Promise<void>
}

/** The key store path every proxy of this helper serves. */
const URI_PATH = '/tenant-a/kms/xks/v1'

/** Log lines are dropped: a test that wants them passes its own logger. */
const quiet: XksLogger = { info: () => {}, warn: () => {}, error: () => {} }

/** What {@link startConfiguredXksProxy} returns: the proxy itself too, for white-box checks. */
export interface ConfiguredXksProxy extends RunningXksProxy {
  readonly proxy: XksProxy
  readonly settings: XksProxySettings
  readonly dataDir: string
}

/**
 * Starts Keyward's XKS proxy in this process over TLS (a certificate for localhost from
 * `pki`, made when absent), with one key store at /tenant-a/kms/xks/v1, a fresh credential
 * pair and an empty keystore in a temporary directory. The local keystore is the default;
 * `backend` names a PKCS#11 token instead (set up by the caller, e.g. test/support/softhsm.ts).
 *
 * @example
 *   const xks = await startXksProxy()
 *   await xks.createKey('foo')
 *   // CreateCustomKeyStore with XksProxyUriEndpoint: xks.endpoint, XksProxyUriPath: xks.uriPath, …
 *   await xks.stop()
 */
export function startXksProxy(
  options: {
    pki?: TestPki
    region?: string
    backend?: 'local' | { modulePath: string; tokenLabel: string; pin: string }
  } = {},
): Promise<RunningXksProxy> {
  return startConfiguredXksProxy(options)
}

/**
 * {@link startXksProxy} with more control, for the proxy's own tests: `configure` edits the
 * settings (key stores with rules, quotas, limits, mutual TLS…) before the proxy is built, and
 * `logger` receives its log lines.
 *
 * @example
 *   const xks = await startConfiguredXksProxy({ configure: (s) => ({ ...s, fleetSize: 3 }) })
 */
export async function startConfiguredXksProxy(
  options: {
    pki?: TestPki
    region?: string
    backend?: 'local' | { modulePath: string; tokenLabel: string; pin: string }
    logger?: XksLogger
    configure?: (settings: XksProxySettings) => XksProxySettings
  } = {},
): Promise<ConfiguredXksProxy> {
  const ownPki = options.pki === undefined
  const pki = options.pki ?? createTestPki()
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-xks-proxy-'))
  const credential = generateCredential()
  const backend = options.backend ?? 'local'
  const base: XksProxySettings = {
    host: '127.0.0.1',
    port: 0,
    tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    plainHttp: false,
    region: options.region ?? 'us-east-1',
    dataDir,
    backend:
      backend === 'local'
        ? { type: 'local' }
        : { type: 'pkcs11', modulePath: backend.modulePath, tokenLabel: backend.tokenLabel },
    ...(backend === 'local' ? {} : { pin: backend.pin }),
    healthKeyId: DEFAULT_HEALTH_KEY_ID,
    healthCacheSeconds: 1,
    fleetSize: 1,
    limits: DEFAULT_LIMITS,
    keyStores: [{ uriPath: URI_PATH, credentials: [credential] }],
  }
  const settings = options.configure ? options.configure(base) : base
  let proxy: XksProxy
  try {
    proxy = await createXksProxy(settings, { logger: options.logger ?? quiet, env: {} })
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    if (ownPki) pki.remove()
    throw error
  }
  const { port } = await proxy.listen()
  let stopped = false
  const uriPath = settings.keyStores[0]!.uriPath
  const first = settings.keyStores[0]!.credentials[0]!
  return {
    proxy,
    settings,
    dataDir,
    endpoint: `${settings.tls ? 'https' : 'http'}://localhost:${port}`,
    uriPath,
    credential: { AccessKeyId: first.accessKeyId, RawSecretAccessKey: first.secretAccessKey },
    caCertPem: pki.ca.certPem,
    createKey: (id, opts) =>
      proxy.keyManager.createKey(id, { usage: opts?.usage ?? ['ENCRYPT', 'DECRYPT'] }),
    async deleteKey(id) {
      if (!(await proxy.keyManager.deleteKey(id))) throw new Error(`no external key ${id}`)
      await proxy.store.setDisabled(id, false)
    },
    async disableKey(id) {
      await proxy.keyManager.describeKey(id)
      await proxy.store.setDisabled(id, true)
    },
    async stop() {
      if (stopped) return
      stopped = true
      await proxy.close()
      rmSync(dataDir, { recursive: true, force: true })
      if (ownPki) pki.remove()
    },
  }
}
