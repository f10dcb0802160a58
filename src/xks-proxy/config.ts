import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { matchesAny } from './patterns.js'
import { EXTERNAL_KEY_ID, isValidUriPath } from './routes.js'

/**
 * The configuration of `keyward xks-proxy` (docs/xks-proxy.md has the reference and an
 * example): a JSON file read at start and again on SIGHUP. {@link parseXksProxyConfig} checks
 * it strictly (unknown members are typos and refused) and {@link resolveXksProxyConfig} reads
 * the files it names, giving the {@link XksProxySettings} the server runs on.
 */

/** A SigV4 credential pair of one key store (spec Appendix A). */
export interface XksCredential {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

/** The operations secondary authorization applies to (never GetHealthStatus, per the spec). */
export type AuthorizedOperation = 'GetKeyMetadata' | 'Encrypt' | 'Decrypt'

/**
 * One rule of secondary authorization. Every condition present must match (`*` and `?` are
 * wildcards); a condition on a requestMetadata field the request lacks does not match.
 */
export interface XksRule {
  /** Named in the log line of a denial; defaults to `rules[<index>]`. */
  readonly name?: string
  readonly effect: 'Allow' | 'Deny'
  readonly operations?: readonly AuthorizedOperation[]
  /** Patterns on the externalKeyId. */
  readonly keys?: readonly string[]
  /** Patterns on requestMetadata.awsPrincipalArn. */
  readonly principals?: readonly string[]
  /** Patterns on requestMetadata.kmsKeyArn (absent from GetKeyMetadata for CreateKey). */
  readonly kmsKeyArns?: readonly string[]
  /** Patterns on requestMetadata.kmsOperation. */
  readonly kmsOperations?: readonly string[]
  /** Patterns on requestMetadata.kmsViaService. */
  readonly viaServices?: readonly string[]
  /** Patterns on requestMetadata.awsSourceVpce. */
  readonly sourceVpces?: readonly string[]
}

/** A token bucket: `requestsPerSecond` on average, up to `burst` at once. */
export interface XksThrottle {
  readonly requestsPerSecond: number
  readonly burst: number
}

/** One logical key store: a URI path with its own credentials, keys, rules and quota. */
export interface XksKeyStoreConfig {
  /** The XksProxyUriPath, `[/<prefix>]/kms/xks/v1`. */
  readonly uriPath: string
  /** At least one; two or more during a rotation (spec, "SigV4 credentials rotation"). */
  readonly credentials: readonly XksCredential[]
  /** Patterns of the externalKeyIds this store may use; absent: every key of the backend. */
  readonly keys?: readonly string[]
  readonly rules?: readonly XksRule[]
  readonly throttle?: XksThrottle
}

/** Where the external keys live. */
export type XksBackendConfig =
  | { readonly type: 'local' }
  | {
      readonly type: 'pkcs11'
      readonly modulePath: string
      readonly tokenLabel?: string
      readonly tokenSerial?: string
      /** The user PIN; better left out of the file and given through `pinEnv`. */
      readonly pin?: string
      /** Environment variable holding the user PIN (default KEYWARD_XKS_PKCS11_PIN). */
      readonly pinEnv?: string
      readonly poolSize?: number
    }

/** Server TLS, and client certificates when `clientCaFile` is set (mutual TLS). */
export interface XksTlsConfig {
  readonly certFile: string
  readonly keyFile: string
  readonly clientCaFile?: string
  /** Accepted subject CN or DNS SAN of a client certificate, e.g. cks.kms.eu-west-1.amazonaws.com. */
  readonly clientNames?: readonly string[]
}

/** Size limits beyond the spec's minimums; above them: UnsupportedOperationException. */
export interface XksLimits {
  readonly maxBodyBytes: number
  readonly maxPlaintextBytes: number
  readonly maxAadBytes: number
}

/** The configuration file, after defaults. Paths are absolute. */
export interface XksProxyConfig {
  readonly host: string
  readonly port: number
  /** A plain-HTTP port answering only `GET /ping`, for load balancers. */
  readonly pingPort?: number
  readonly tls?: XksTlsConfig
  /** Serve plain HTTP instead of TLS (behind a TLS-terminating load balancer, or tests). */
  readonly plainHttp: boolean
  /** The AWS Region whose KMS signs the requests (SigV4 credential scope). */
  readonly region: string
  /** The proxy's own data: its root key and database. */
  readonly dataDir: string
  readonly backend: XksBackendConfig
  /** The dedicated key of the deep health check; never a customer key. */
  readonly healthKeyId: string
  /** How long a health result is reused (the spec allows up to 60 s). */
  readonly healthCacheSeconds: number
  /** xksProxyFleetSize in health answers: how many proxies serve this endpoint. */
  readonly fleetSize: number
  readonly limits: XksLimits
  readonly keyStores: readonly XksKeyStoreConfig[]
}

/** The spec's minimums (Encrypt, Decrypt): 4300 bytes of plaintext, 8192 bytes of AAD. */
export const SPEC_MIN_PLAINTEXT_BYTES = 4300
export const SPEC_MIN_AAD_BYTES = 8192

/**
 * Defaults. The reference proxy allows 8192 base64 characters of plaintext and 16384 of AAD;
 * these are the same sizes decoded. The body limit leaves room for both plus metadata.
 */
export const DEFAULT_LIMITS: XksLimits = {
  maxBodyBytes: 64 * 1024,
  maxPlaintextBytes: 6144,
  maxAadBytes: 12288,
}
export const DEFAULT_PORT = 8443
export const DEFAULT_PIN_ENV = 'KEYWARD_XKS_PKCS11_PIN'
/** Not an externalKeyId (':' is outside the spec's alphabet): no API call can name it. */
export const DEFAULT_HEALTH_KEY_ID = 'keyward:xks-health-check'

/** Spec Appendix A: access key ids are 20–30 of A–Z and 2–7; secrets 43–64 of base64 characters. */
export const ACCESS_KEY_ID = /^[A-Z2-7]{20,30}$/
export const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+=]{43,64}$/
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/
const RULE_OPERATIONS = new Set<string>(['GetKeyMetadata', 'Encrypt', 'Decrypt'])
const PATTERN_CHARS = /^[\x20-\x7e]{1,2048}$/

/** A configuration file that cannot be used; the message names the member. */
export class XksConfigError extends Error {
  override readonly name = 'XksConfigError'
}

type Json = Record<string, unknown>

function fail(path: string, problem: string): never {
  throw new XksConfigError(`${path}: ${problem}`)
}

function object(value: unknown, path: string, members: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, 'must be a JSON object')
  }
  for (const key of Object.keys(value)) {
    if (!members.includes(key))
      fail(`${path}.${key}`, `unknown member (known: ${members.join(', ')})`)
  }
  return value as Json
}

function string(value: unknown, path: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || value === '') fail(path, 'must be a non-empty string')
  if (pattern && !pattern.test(value)) fail(path, `does not match ${pattern}`)
  return value
}

function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : string(value, path)
}

function integer(value: unknown, path: string, range: { min: number; max: number }): number {
  if (!Number.isInteger(value) || (value as number) < range.min || (value as number) > range.max) {
    fail(path, `must be an integer from ${range.min} to ${range.max}`)
  }
  return value as number
}

function positiveNumber(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(path, 'must be a number above 0')
  }
  return value
}

function stringArray(value: unknown, path: string, pattern: RegExp): string[] {
  if (!Array.isArray(value) || value.length === 0) fail(path, 'must be a non-empty array')
  return value.map((v, i) => string(v, `${path}[${i}]`, pattern))
}

function parseRule(value: unknown, path: string): XksRule {
  const r = object(value, path, [
    'name',
    'effect',
    'operations',
    'keys',
    'principals',
    'kmsKeyArns',
    'kmsOperations',
    'viaServices',
    'sourceVpces',
  ])
  if (r.effect !== 'Allow' && r.effect !== 'Deny') fail(`${path}.effect`, 'must be Allow or Deny')
  const rule: Record<string, unknown> = { effect: r.effect }
  if (r.name !== undefined) rule.name = string(r.name, `${path}.name`)
  if (r.operations !== undefined) {
    const ops = stringArray(r.operations, `${path}.operations`, /^[A-Za-z]+$/)
    for (const op of ops) {
      if (!RULE_OPERATIONS.has(op)) {
        fail(`${path}.operations`, `${op} is not GetKeyMetadata, Encrypt or Decrypt`)
      }
    }
    rule.operations = ops
  }
  for (const key of [
    'keys',
    'principals',
    'kmsKeyArns',
    'kmsOperations',
    'viaServices',
    'sourceVpces',
  ]) {
    if (r[key] !== undefined) rule[key] = stringArray(r[key], `${path}.${key}`, PATTERN_CHARS)
  }
  return rule as unknown as XksRule
}

function parseKeyStore(value: unknown, path: string): XksKeyStoreConfig {
  const s = object(value, path, ['uriPath', 'credentials', 'keys', 'rules', 'throttle'])
  const uriPath = string(s.uriPath, `${path}.uriPath`)
  if (!isValidUriPath(uriPath)) {
    fail(
      `${path}.uriPath`,
      'must be [/<prefix>]/kms/xks/v1, at most 128 characters of A-Z a-z 0-9 / _ -',
    )
  }
  if (!Array.isArray(s.credentials) || s.credentials.length === 0) {
    fail(`${path}.credentials`, 'must list at least one credential pair')
  }
  const credentials = s.credentials.map((c, i) => {
    const p = `${path}.credentials[${i}]`
    const pair = object(c, p, ['accessKeyId', 'secretAccessKey'])
    return {
      accessKeyId: string(pair.accessKeyId, `${p}.accessKeyId`, ACCESS_KEY_ID),
      // Never echo a secret: say what is wrong without the value.
      secretAccessKey:
        typeof pair.secretAccessKey === 'string' && SECRET_ACCESS_KEY.test(pair.secretAccessKey)
          ? pair.secretAccessKey
          : fail(`${p}.secretAccessKey`, 'must be 43 to 64 characters of A-Z a-z 0-9 / + ='),
    }
  })
  const store: Record<string, unknown> = { uriPath, credentials }
  if (s.keys !== undefined)
    store.keys = stringArray(s.keys, `${path}.keys`, /^[A-Za-z0-9._*?-]{1,128}$/)
  if (s.rules !== undefined) {
    if (!Array.isArray(s.rules)) fail(`${path}.rules`, 'must be an array')
    store.rules = s.rules.map((r, i) => parseRule(r, `${path}.rules[${i}]`))
  }
  if (s.throttle !== undefined) {
    const t = object(s.throttle, `${path}.throttle`, ['requestsPerSecond', 'burst'])
    const rate = positiveNumber(t.requestsPerSecond, `${path}.throttle.requestsPerSecond`)
    store.throttle = {
      requestsPerSecond: rate,
      burst:
        t.burst === undefined
          ? Math.max(1, Math.ceil(rate))
          : positiveNumber(t.burst, `${path}.throttle.burst`),
    }
  }
  return store as unknown as XksKeyStoreConfig
}

function parseBackend(value: unknown, base: string): XksBackendConfig {
  if (value === undefined) return { type: 'local' }
  const b = object(value, 'backend', [
    'type',
    'modulePath',
    'tokenLabel',
    'tokenSerial',
    'pin',
    'pinEnv',
    'poolSize',
  ])
  if (b.type === 'local') {
    object(value, 'backend', ['type'])
    return { type: 'local' }
  }
  if (b.type !== 'pkcs11') fail('backend.type', 'must be local or pkcs11')
  const tokenLabel = optionalString(b.tokenLabel, 'backend.tokenLabel')
  const tokenSerial = optionalString(b.tokenSerial, 'backend.tokenSerial')
  if ((tokenLabel === undefined) === (tokenSerial === undefined)) {
    fail('backend', 'give exactly one of tokenLabel and tokenSerial')
  }
  const pin = optionalString(b.pin, 'backend.pin')
  const pinEnv = optionalString(b.pinEnv, 'backend.pinEnv')
  return {
    type: 'pkcs11',
    modulePath: resolve(base, string(b.modulePath, 'backend.modulePath')),
    ...(tokenLabel !== undefined ? { tokenLabel } : {}),
    ...(tokenSerial !== undefined ? { tokenSerial } : {}),
    ...(pin !== undefined ? { pin } : {}),
    ...(pinEnv !== undefined ? { pinEnv } : {}),
    ...(b.poolSize !== undefined
      ? { poolSize: integer(b.poolSize, 'backend.poolSize', { min: 1, max: 256 }) }
      : {}),
  }
}

function parseTls(value: unknown, base: string): XksTlsConfig | undefined {
  if (value === undefined) return undefined
  const t = object(value, 'tls', ['certFile', 'keyFile', 'clientCaFile', 'clientNames'])
  const tls: Record<string, unknown> = {
    certFile: resolve(base, string(t.certFile, 'tls.certFile')),
    keyFile: resolve(base, string(t.keyFile, 'tls.keyFile')),
  }
  if (t.clientCaFile !== undefined)
    tls.clientCaFile = resolve(base, string(t.clientCaFile, 'tls.clientCaFile'))
  if (t.clientNames !== undefined) {
    if (t.clientCaFile === undefined) fail('tls.clientNames', 'needs tls.clientCaFile')
    tls.clientNames = stringArray(t.clientNames, 'tls.clientNames', /^[A-Za-z0-9.*-]{1,253}$/)
  } else if (t.clientCaFile !== undefined) {
    // The spec: a proxy with mTLS MUST let the admin set the subject name, and MUST check it.
    fail(
      'tls.clientNames',
      'is required with tls.clientCaFile (e.g. ["cks.kms.us-east-1.amazonaws.com"])',
    )
  }
  return tls as unknown as XksTlsConfig
}

function parseLimits(value: unknown): XksLimits {
  if (value === undefined) return DEFAULT_LIMITS
  const l = object(value, 'limits', ['maxBodyBytes', 'maxPlaintextBytes', 'maxAadBytes'])
  const limits = {
    maxPlaintextBytes:
      l.maxPlaintextBytes === undefined
        ? DEFAULT_LIMITS.maxPlaintextBytes
        : integer(l.maxPlaintextBytes, 'limits.maxPlaintextBytes', {
            min: SPEC_MIN_PLAINTEXT_BYTES,
            max: 1 << 20,
          }),
    maxAadBytes:
      l.maxAadBytes === undefined
        ? DEFAULT_LIMITS.maxAadBytes
        : integer(l.maxAadBytes, 'limits.maxAadBytes', { min: SPEC_MIN_AAD_BYTES, max: 65535 }),
    maxBodyBytes: DEFAULT_LIMITS.maxBodyBytes,
  }
  // Room for both fields in base64 plus the request metadata (ARNs of up to 2048 characters).
  const needed = Math.ceil(((limits.maxPlaintextBytes + limits.maxAadBytes) * 4) / 3) + 16 * 1024
  return {
    ...limits,
    maxBodyBytes:
      l.maxBodyBytes === undefined
        ? Math.max(DEFAULT_LIMITS.maxBodyBytes, needed)
        : integer(l.maxBodyBytes, 'limits.maxBodyBytes', { min: needed, max: 16 << 20 }),
  }
}

/**
 * Checks a parsed configuration file and fills in defaults. Relative paths are resolved
 * against `baseDir` (the file's directory).
 *
 * @throws XksConfigError naming the first bad member (never a secret's value)
 * @example
 *   const config = parseXksProxyConfig(JSON.parse(text), { baseDir: '/etc/keyward' })
 */
export function parseXksProxyConfig(value: unknown, options: { baseDir: string }): XksProxyConfig {
  const base = options.baseDir
  const c = object(value, 'config', [
    'host',
    'port',
    'pingPort',
    'tls',
    'plainHttp',
    'region',
    'dataDir',
    'backend',
    'healthKeyId',
    'healthCacheSeconds',
    'fleetSize',
    'limits',
    'keyStores',
  ])
  const plainHttp =
    c.plainHttp === undefined
      ? false
      : c.plainHttp === true
        ? true
        : fail('plainHttp', 'must be true or false')
  const tls = parseTls(c.tls, base)
  if (!tls && !plainHttp)
    fail('tls', 'is required (or set plainHttp: true behind a TLS-terminating load balancer)')
  if (tls && plainHttp) fail('plainHttp', 'cannot be combined with tls')
  if (!Array.isArray(c.keyStores) || c.keyStores.length === 0)
    fail('keyStores', 'must list at least one key store')
  const keyStores = c.keyStores.map((s, i) => parseKeyStore(s, `keyStores[${i}]`))
  const paths = new Set<string>()
  const ids = new Set<string>()
  for (const [i, store] of keyStores.entries()) {
    if (paths.has(store.uriPath)) fail(`keyStores[${i}].uriPath`, `${store.uriPath} is used twice`)
    paths.add(store.uriPath)
    for (const { accessKeyId } of store.credentials) {
      // The spec: an access key id MUST identify its secret without ambiguity.
      if (ids.has(accessKeyId))
        fail(`keyStores[${i}].credentials`, `access key id ${accessKeyId} is used twice`)
      ids.add(accessKeyId)
    }
  }
  const healthKeyId =
    c.healthKeyId === undefined ? DEFAULT_HEALTH_KEY_ID : string(c.healthKeyId, 'healthKeyId')
  const reachable = keyStores.some((s) => !s.keys || matchesAny(s.keys, healthKeyId))
  if (EXTERNAL_KEY_ID.test(healthKeyId) && reachable) {
    // The spec: the deep health check uses a test key, never a customer key. One that an API
    // call could name must stay out of every key store's keys list.
    fail(
      'healthKeyId',
      "can be named by API calls: use an id with a character outside A-Z a-z 0-9 . _ - (the default is keyward:xks-health-check), or leave it out of every key store's keys list",
    )
  }
  return {
    host: c.host === undefined ? '127.0.0.1' : string(c.host, 'host'),
    port: c.port === undefined ? DEFAULT_PORT : integer(c.port, 'port', { min: 0, max: 65535 }),
    ...(c.pingPort !== undefined
      ? { pingPort: integer(c.pingPort, 'pingPort', { min: 0, max: 65535 }) }
      : {}),
    ...(tls ? { tls } : {}),
    plainHttp,
    region: c.region === undefined ? 'us-east-1' : string(c.region, 'region', REGION),
    dataDir: resolve(base, string(c.dataDir, 'dataDir')),
    backend: parseBackend(c.backend, base),
    healthKeyId,
    healthCacheSeconds:
      c.healthCacheSeconds === undefined
        ? 10
        : integer(c.healthCacheSeconds, 'healthCacheSeconds', { min: 0, max: 60 }),
    fleetSize:
      c.fleetSize === undefined ? 1 : integer(c.fleetSize, 'fleetSize', { min: 1, max: 1000 }),
    limits: parseLimits(c.limits),
    keyStores,
  }
}

/**
 * Reads and checks the configuration file at `path`.
 *
 * @example
 *   const config = readXksProxyConfig('/etc/keyward/xks-proxy.json')
 */
export function readXksProxyConfig(path: string): XksProxyConfig {
  const text = readFileSync(path, 'utf8')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new XksConfigError(`${path} is not valid JSON: ${(error as Error).message}`)
  }
  return parseXksProxyConfig(parsed, { baseDir: dirname(resolve(path)) })
}

/** TLS material read from the files the configuration names. */
export interface XksTlsMaterial {
  readonly certPem: string
  readonly keyPem: string
  readonly clientCaPem?: string
  readonly clientNames?: readonly string[]
}

/** What the server runs on: the configuration with its files read and the PIN found. */
export interface XksProxySettings extends Omit<XksProxyConfig, 'tls'> {
  readonly tls?: XksTlsMaterial
  /** The PKCS#11 user PIN, when the backend is a token. */
  readonly pin?: string
}

/**
 * Reads the certificate files and finds the PIN (from `backend.pin`, else the environment).
 *
 * @throws XksConfigError when a file cannot be read or the PIN is missing
 * @example
 *   const settings = resolveXksProxyConfig(readXksProxyConfig(path), process.env)
 */
export function resolveXksProxyConfig(
  config: XksProxyConfig,
  env: NodeJS.ProcessEnv,
): XksProxySettings {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (error) {
      throw new XksConfigError(
        `${what} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
      )
    }
  }
  const { tls, ...rest } = config
  let pin: string | undefined
  if (config.backend.type === 'pkcs11') {
    const pinEnv = config.backend.pinEnv ?? DEFAULT_PIN_ENV
    pin = config.backend.pin ?? (env[pinEnv] || undefined)
    if (pin === undefined)
      throw new XksConfigError(`backend: no PIN (set backend.pin or ${pinEnv})`)
  }
  return {
    ...rest,
    ...(tls
      ? {
          tls: {
            certPem: read(tls.certFile, 'tls.certFile'),
            keyPem: read(tls.keyFile, 'tls.keyFile'),
            ...(tls.clientCaFile
              ? { clientCaPem: read(tls.clientCaFile, 'tls.clientCaFile') }
              : {}),
            ...(tls.clientNames ? { clientNames: tls.clientNames } : {}),
          },
        }
      : {}),
    ...(pin !== undefined ? { pin } : {}),
  }
}
