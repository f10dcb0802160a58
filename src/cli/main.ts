import { existsSync, mkdirSync, readFileSync, watch, type FSWatcher } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { EmbeddedOptions } from '../server.js'
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../config/http-limits.js'

/** Port Keyward listens on unless told otherwise. */
export const DEFAULT_PORT = 7878

const USAGE = `Usage: keyward <command> [options]

A self-hosted key management service that speaks the AWS KMS API.

Commands:
  serve        Start the KMS server (AWS JSON 1.1 over HTTP, SigV4-authenticated)
  credentials  Print the admin credentials as shell exports: eval "$(keyward credentials)"
  principals   Add users and roles, create and revoke access keys, attach policies
  xks-proxy    Keyward's XKS proxy (External Key Store Proxy API) and its keys
  backup       Write an encrypted snapshot of the database, also while serving
  restore      Restore a backup into a data directory without a database
  root-key     rotate: re-wrap every key under a new root key, also while serving
  audit        Verify the audit trail's chain and signatures; search its events
  migrate      Copy a SQLite data directory's database into PostgreSQL (--from, --to)

Options:
  --version    Print Keyward's version
  -h, --help   Show this help

Run 'keyward <command> --help' for the options of a command.
`

const SERVE_USAGE = `Usage: keyward serve [options]

Starts the server on the embedded default: SQLite and a local root key in the data directory.
Every option can also be set through the environment variable shown.

Options:
  --host <addr>      Address to listen on (KEYWARD_HOST; default 127.0.0.1)
  --port <n>         Port to listen on (KEYWARD_PORT; default ${DEFAULT_PORT})
  --data-dir <dir>   Where keyward.db, root.key and principals.json live
                     (KEYWARD_DATA_DIR; default ~/.keyward)
  --config <file>    Principals file: accounts, users and their access keys (KEYWARD_CONFIG;
                     default <data-dir>/principals.json, created on first start; a --config
                     file must exist). SIGHUP, or a change of the file, rereads it; a broken
                     file is reported and the previous one kept. See 'keyward principals'.
  --dev              Development mode: any well-formed SigV4 request is accepted as the admin
                     of account 111122223333, whatever its secret (KEYWARD_DEV=1).
                     Refused on a non-loopback host unless --force-dev is given too.
  --force-dev        Allow --dev on a non-loopback host (KEYWARD_FORCE_DEV=1). Never in production.
  --workers <n>      Server processes sharing the port and the database (KEYWARD_WORKERS;
                     default 1). On a machine with several cores, one per core.
  --key-cache-mb <n> Memory for cached keys and their unwrapped material, per process
                     (KEYWARD_KEY_CACHE_MB; default 64, about 30,000 keys in use); the least
                     recently used keys are read again from the database when it is full.
  --allow-insecure-permissions
                     Start even when root.key or the principals file can be read by other
                     users, with a warning (KEYWARD_ALLOW_INSECURE_PERMISSIONS=1); refused
                     otherwise, as ssh refuses a private key that is too open.
  --store <url>      Keep keys in PostgreSQL instead of <data-dir>/keyward.db (KEYWARD_STORE),
                     e.g. postgres://keyward@db1:5432,db2:5432/keyward?target_session_attrs=read-write
                     so that several nodes share them; the root key and principals stay each
                     node's own (all nodes need the same root key). See docs/operations.md.
  --root-key <uri>   Keep the root key in a PKCS#11 token instead of <data-dir>/root.key
                     (KEYWARD_ROOT_KEY_URI), e.g. pkcs11:token=keyward;object=root
                     ?module-path=/usr/lib/softhsm/libsofthsm2.so; the user PIN comes from
                     KEYWARD_ROOT_KEY_PIN. The key is generated in the token on first start.
  --headers-timeout <s>     Seconds to receive a request's headers before the connection is
                            closed (KEYWARD_HEADERS_TIMEOUT; default 10)
  --request-timeout <s>     Seconds to receive a whole request, body included
                            (KEYWARD_REQUEST_TIMEOUT; default 30; at least the headers timeout)
  --keep-alive-timeout <s>  Seconds an idle keep-alive connection stays open
                            (KEYWARD_KEEP_ALIVE_TIMEOUT; default 65)
  --max-connections <n>     Connections open at once per server process; more are closed as
                            they arrive (KEYWARD_MAX_CONNECTIONS; default 1024)
  --metrics-port <n>        Also serve GET /metrics, /healthz and /readyz on this port, on the
                            same host (KEYWARD_METRICS_PORT). Without it, /metrics is served
                            on the KMS port only with --metrics-token.
  --metrics-token <token>   Bearer token GET /metrics requires (KEYWARD_METRICS_TOKEN; prefer
                            the variable: a flag shows in ps). /healthz and /readyz need none.
  --log-level <level>       error, info or debug (KEYWARD_LOG_LEVEL; default info); debug adds
                            a line per request and aborted or timed-out requests.
  --audit-dir <dir>  Where the audit trail's files go (KEYWARD_AUDIT_DIR; default
                     <data-dir>/audit): one CloudTrail record per call, chained by SHA-256,
                     digests signed with <data-dir>/audit-signing.key. See 'keyward audit'.
  --audit-required   Refuse calls (KMSInternalException) rather than answer them when their
                     audit events cannot be written; answers wait for the fsync
                     (KEYWARD_AUDIT_REQUIRED=1)
  --no-audit         No audit trail (KEYWARD_AUDIT=0); GetKeyLastUsage then has no
                     CloudTrailEventId
  -h, --help         Show this help

One server per data directory: a second one is refused (<data-dir>/keyward.lock names the
holder's pid); --workers is the way to run several processes over one database.

Other environment variables:
  KEYWARD_ROOT_KEY                 Root key (base64 of 32 bytes) instead of <data-dir>/root.key
  KEYWARD_ROOT_KEY_PIN             User PIN of the token of --root-key
  KEYWARD_ROOT_ACCESS_KEY_ID       Admin access key ID for the first start (with the secret below)
  KEYWARD_ROOT_SECRET_ACCESS_KEY   Its secret access key
`

const CREDENTIALS_USAGE = `Usage: keyward credentials [options]

Prints the admin access key of the principals file as shell exports, so that the aws CLI and
the SDKs use it: eval "$(keyward credentials)". The secret is printed: mind where it goes.

Options (as for serve, with the same environment variables):
  --data-dir <dir>   Data directory (KEYWARD_DATA_DIR; default ~/.keyward)
  --config <file>    Principals file (KEYWARD_CONFIG; default <data-dir>/principals.json)
  --host <addr>      Host the server listens on, for AWS_ENDPOINT_URL_KMS (KEYWARD_HOST)
  --port <n>         Its port (KEYWARD_PORT; default ${DEFAULT_PORT})
  --allow-insecure-permissions
                     Read a principals file other users can read (KEYWARD_ALLOW_INSECURE_PERMISSIONS=1)
  -h, --help         Show this help
`

/** The version in package.json (dist/src/cli/main.js → ../../../package.json). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)

const truthy = (v: string | undefined) => v === '1' || v === 'true'

/** A flag's value, else the environment variable's; an empty variable counts as unset. */
const setting = (flag: string | undefined, env: string | undefined) =>
  flag ?? (env === '' ? undefined : env)

/** A TCP port from its text: digits only, 0 (any free port) to 65535. */
function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  if (!(port >= 0 && port <= 65535)) throw new Error(`invalid port: ${text}`)
  return port
}

/**
 * `--store`: a PostgreSQL URL, or nothing (SQLite in the data directory). Anything else is
 * refused before anything starts, without echoing a value that may hold a password.
 */
function parseStoreUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^postgres(ql)?:\/\/./i.test(value)) {
    throw new Error(
      '--store (KEYWARD_STORE) must be a postgres:// or postgresql:// URL; leave it out for SQLite in the data directory',
    )
  }
  return value
}

/** Where a server is and what it reads: the options `serve` and `credentials` share. */
const WHERE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  'allow-insecure-permissions': { type: 'boolean' },
} as const

async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...WHERE_OPTIONS,
      dev: { type: 'boolean' },
      'force-dev': { type: 'boolean' },
      workers: { type: 'string' },
      'key-cache-mb': { type: 'string' },
      'root-key': { type: 'string' },
      store: { type: 'string' },
      'headers-timeout': { type: 'string' },
      'request-timeout': { type: 'string' },
      'keep-alive-timeout': { type: 'string' },
      'max-connections': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-token': { type: 'string' },
      'log-level': { type: 'string' },
      'audit-dir': { type: 'string' },
      'audit-required': { type: 'boolean' },
      'no-audit': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(SERVE_USAGE)
    return 0
  }
  const metrics = metricsOptions(values, env)
  const { jsonLineLogger, parseLogLevel } = await import('../ports/logger.js')
  const logger = jsonLineLogger({
    level: parseLogLevel(setting(values['log-level'], env.KEYWARD_LOG_LEVEL)),
  })
  const allowInsecurePermissions =
    values['allow-insecure-permissions'] === true || truthy(env.KEYWARD_ALLOW_INSECURE_PERMISSIONS)
  const host = setting(values.host, env.KEYWARD_HOST) ?? '127.0.0.1'
  const port = parsePort(setting(values.port, env.KEYWARD_PORT) ?? String(DEFAULT_PORT))
  const dataDir = setting(values['data-dir'], env.KEYWARD_DATA_DIR) ?? join(homedir(), '.keyward')
  const configPath = setting(values.config, env.KEYWARD_CONFIG)
  const dev = values.dev === true || truthy(env.KEYWARD_DEV)
  const forceDev = values['force-dev'] === true || truthy(env.KEYWARD_FORCE_DEV)
  if (dev && !isLoopback(host) && !forceDev) {
    throw new Error(
      `refusing --dev on non-loopback host ${host}: dev mode accepts any secret. Add --force-dev if you really mean it.`,
    )
  }
  const workers = parseWorkers(setting(values.workers, env.KEYWARD_WORKERS) ?? '1')
  const http = httpLimits(values, env)
  const keyCacheMb = setting(values['key-cache-mb'], env.KEYWARD_KEY_CACHE_MB)
  const audit = auditSettings(values, env)
  // Loaded only to serve: `keyward --help` and refusals answer without loading the server.
  const { createEmbeddedKeyward, openPrincipals } = await import('../server.js')
  const { lockDataDir } = await import('../adapters/store-sql/data-dir-lock.js')
  const { isWorker, reportListening, workerIndex } = await import('./workers.js')
  const rootKeyUri = setting(values['root-key'], env.KEYWARD_ROOT_KEY_URI)
  const storeUrl = parseStoreUrl(setting(values.store, env.KEYWARD_STORE))
  // Files Keyward creates (the database, its WAL, the root key) are for its own user only.
  process.umask(0o077)
  const embedded = {
    dataDir,
    dev,
    ...(configPath ? { configPath } : {}),
    ...(rootKeyUri ? { rootKeyUri } : {}),
    ...(storeUrl ? { storeUrl } : {}),
    ...(allowInsecurePermissions ? { allowInsecurePermissions } : {}),
    http,
    env,
    logger,
    ...(metrics ? { metrics } : {}),
    ...(keyCacheMb ? { keyCacheBytes: parseCacheMegabytes(keyCacheMb) * 1024 * 1024 } : {}),
    audit,
  }
  if (isWorker()) {
    const worker = await createEmbeddedKeyward({
      ...embedded,
      // Each process writes its own chain: a file has one writer.
      ...(audit ? { audit: { ...audit, stream: `worker-${workerIndex(env)}` } } : {}),
      runScheduler: workerIndex(env) === 0,
      sharedWithOtherProcesses: true,
    })
    const stopReloading = reloadOnHangup(worker, logger)
    const address = await worker.keyward.listen(port, host)
    reportListening(urlOf(address))
    await signalled()
    stopReloading()
    await worker.keyward.close()
    // The IPC channel to the primary would keep this process alive.
    process.disconnect?.()
    return 0
  }
  // Refusals that concern the settings come before anything is created: a --config that does
  // not exist, half a root credential.
  openPrincipals({ ...embedded, create: false })
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // The primary holds the data directory for as long as it runs; its workers share it.
  const lock = lockDataDir(dataDir)
  try {
    return await serveLocked({ embedded, workers, port, host })
  } finally {
    lock.release()
  }
}

/** `serve` in the process that holds the data directory: one server, or the workers' primary. */
async function serveLocked(settings: {
  embedded: EmbeddedOptions
  workers: number
  port: number
  host: string
}): Promise<number> {
  const { embedded, workers, port, host } = settings
  const { dataDir, dev } = embedded
  const { consoleLogger, createEmbeddedKeyward } = await import('../server.js')
  const { superviseWorkers } = await import('./workers.js')
  const started = await createEmbeddedKeyward(embedded)
  let url: string
  let done: Promise<void>
  if (workers > 1) {
    // The primary did the first-start work; it serves nothing itself.
    await started.keyward.close()
    ;({ url, done } = await superviseWorkers(workers))
  } else {
    url = urlOf(await started.keyward.listen(port, host))
    const stopReloading = reloadOnHangup(started, embedded.logger ?? consoleLogger)
    done = signalled().then(() => {
      stopReloading()
      return started.keyward.close()
    })
  }
  if (started.createdAccessKeyId) {
    console.log(
      `Created admin access key ${started.createdAccessKeyId} for account 111122223333; its secret is in ${started.configPath} (mode 0600).`,
    )
  } else if (started.adminAccessKeyId) {
    // Printed on every start: the operator who lost track of the key finds it here.
    const where =
      started.adminAccessKeyId === embedded.env?.KEYWARD_ROOT_ACCESS_KEY_ID
        ? 'KEYWARD_ROOT_SECRET_ACCESS_KEY'
        : started.configPath
    console.log(
      `Admin access key ${started.adminAccessKeyId} for account 111122223333; its secret is in ${where} ('keyward credentials' prints both for a shell).`,
    )
  }
  const regions =
    started.principals.regions?.join(', ') ??
    "AWS's Regions (taken from the SigV4 credential scope)"
  console.log(
    `Keyward listening on ${url} (${dev ? 'DEV MODE: any secret accepted, ' : ''}${workers > 1 ? `${workers} workers, ` : ''}data ${dataDir}, root key ${started.rootKeySource}); Regions: ${regions}; point the AWS CLI at it with --endpoint-url ${url} or AWS_ENDPOINT_URL_KMS=${url}`,
  )
  await done
  return 0
}

/**
 * SIGHUP rereads the principals file (the habit of nginx and sshd), and so does a change of the
 * file: a bad file is logged and the principals in force stay. Returns the function that stops listening for it.
 */
function reloadOnHangup(
  started: { configPath: string; reloadPrincipals: () => unknown },
  logger: NonNullable<EmbeddedOptions['logger']>,
): () => void {
  const reload = () => {
    try {
      started.reloadPrincipals()
      logger.info('principals reloaded', { path: started.configPath })
    } catch (error) {
      logger.error('principals not reloaded; the previous ones stay in force', {
        path: started.configPath,
        cause: error instanceof Error ? error.message : String(error),
      })
    }
  }
  process.on('SIGHUP', reload)
  // A change of the file (`keyward principals` renames a new one into place) is reloaded too,
  // after a short quiet time so that an editor's several writes make one reload.
  let timer: NodeJS.Timeout | undefined
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(started.configPath), (_event, name) => {
      if (name !== basename(started.configPath)) return
      clearTimeout(timer)
      timer = setTimeout(reload, 200)
    })
    watcher.on('error', () => watcher?.close())
  } catch {
    // No file watching here (some network file systems): SIGHUP still works.
  }
  return () => {
    process.off('SIGHUP', reload)
    clearTimeout(timer)
    watcher?.close()
  }
}

/** `keyward credentials`: the admin access key as shell exports. */
async function credentials(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...WHERE_OPTIONS, help: { type: 'boolean', short: 'h' } },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(CREDENTIALS_USAGE)
    return 0
  }
  const dataDir = setting(values['data-dir'], env.KEYWARD_DATA_DIR) ?? join(homedir(), '.keyward')
  const configPath = setting(values.config, env.KEYWARD_CONFIG)
  const { openPrincipals } = await import('../server.js')
  const { adminAccessKey } = await import('../config/principals.js')
  const { source } = openPrincipals({
    dataDir,
    ...(configPath ? { configPath } : {}),
    env,
    create: false,
    allowInsecurePermissions:
      values['allow-insecure-permissions'] === true ||
      truthy(env.KEYWARD_ALLOW_INSECURE_PERMISSIONS),
    warn: (message) => process.stderr.write(`${message}\n`),
  })
  if (!existsSync(source.configPath)) {
    throw new Error(
      `There is no principals file at ${source.configPath} yet: 'keyward serve' creates it on first start.`,
    )
  }
  const principals = source.read()
  const admin = adminAccessKey(principals, env.KEYWARD_ROOT_ACCESS_KEY_ID || undefined)
  if (!admin) {
    throw new Error(
      `${source.configPath} has no access key of arn:aws:iam::111122223333:user/admin (without a session token).`,
    )
  }
  const lines = [
    `export AWS_ACCESS_KEY_ID=${shellWord(admin.accessKeyId)}`,
    `export AWS_SECRET_ACCESS_KEY=${shellWord(admin.secretAccessKey)}`,
    // Any AWS Region works without a `regions` setting; with one, only those.
    `export AWS_DEFAULT_REGION=${shellWord(principals.regions?.[0] ?? 'us-east-1')}`,
  ]
  const endpoint = endpointOf(
    setting(values.host, env.KEYWARD_HOST) ?? '127.0.0.1',
    parsePort(setting(values.port, env.KEYWARD_PORT) ?? String(DEFAULT_PORT)),
  )
  if (endpoint) {
    lines.push(`export AWS_ENDPOINT_URL_KMS=${shellWord(endpoint)}`)
    // STS answers on the same port (AssumeRole, GetCallerIdentity, GetSessionToken).
    lines.push(`export AWS_ENDPOINT_URL_STS=${shellWord(endpoint)}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  return 0
}

/** A value as one word for a POSIX shell: bare when safe, else single-quoted. */
const shellWord = (value: string) =>
  /^[A-Za-z0-9_.:/@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`

/**
 * The URL a client on this machine reaches `serve --host host --port port` at: a wildcard
 * address is reached through loopback; port 0 (chosen at start) is unknown here.
 */
function endpointOf(host: string, port: number): string | undefined {
  if (port === 0) return undefined
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}`
}

/** Number of worker processes: 1 to 64. */
function parseWorkers(text: string): number {
  const n = /^\d{1,2}$/.test(text) ? Number(text) : NaN
  if (!(n >= 1 && n <= 64)) throw new Error(`invalid number of workers: ${text}`)
  return n
}

/** Megabytes of key cache: 1 to 65536. */
function parseCacheMegabytes(text: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  if (!(n >= 1 && n <= 65_536)) throw new Error(`invalid --key-cache-mb: ${text}`)
  return n
}

/** Seconds as text ('10', '0.5'): more than 0, at most an hour; returned in milliseconds. */
function parseSeconds(name: string, text: string): number {
  const seconds = /^\d{1,4}(?:\.\d{1,3})?$/.test(text) ? Number(text) : NaN
  if (!(seconds > 0 && seconds <= 3600)) throw new Error(`invalid ${name}: ${text}`)
  return Math.round(seconds * 1000)
}

/** The HTTP limits of `serve` from flags and environment, defaults for what is unset. */
function httpLimits(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): HttpLimits {
  const flag = (name: string) => values[name] as string | undefined
  const seconds = (name: string, variable: string, fallbackMs: number) => {
    const text = setting(flag(name), env[variable])
    return text === undefined ? fallbackMs : parseSeconds(`--${name}`, text)
  }
  const limits = {
    headersTimeoutMs: seconds(
      'headers-timeout',
      'KEYWARD_HEADERS_TIMEOUT',
      DEFAULT_HTTP_LIMITS.headersTimeoutMs,
    ),
    requestTimeoutMs: seconds(
      'request-timeout',
      'KEYWARD_REQUEST_TIMEOUT',
      DEFAULT_HTTP_LIMITS.requestTimeoutMs,
    ),
    keepAliveTimeoutMs: seconds(
      'keep-alive-timeout',
      'KEYWARD_KEEP_ALIVE_TIMEOUT',
      DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs,
    ),
    maxConnections: parseMaxConnections(
      setting(flag('max-connections'), env.KEYWARD_MAX_CONNECTIONS) ??
        String(DEFAULT_HTTP_LIMITS.maxConnections),
    ),
  }
  // Node refuses a headers timeout longer than the request timeout; say it in our words.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new Error('--headers-timeout must not be longer than --request-timeout')
  }
  return limits
}

/** `--metrics-port` and `--metrics-token` (or their variables); undefined when neither is set. */
function metricsOptions(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): { port?: number; token?: string } | undefined {
  const portText = setting(values['metrics-port'] as string | undefined, env.KEYWARD_METRICS_PORT)
  const token = setting(values['metrics-token'] as string | undefined, env.KEYWARD_METRICS_TOKEN)
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token)) {
    // RFC 6750's b64token is printable ASCII without spaces; short tokens are guessable.
    throw new Error('--metrics-token must be at least 16 printable ASCII characters, no spaces')
  }
  if (portText === undefined && token === undefined) return undefined
  return {
    ...(portText !== undefined ? { port: parsePort(portText) } : {}),
    ...(token !== undefined ? { token } : {}),
  }
}

/** The audit trail of `serve`: off with --no-audit, else its directory and mode. */
function auditSettings(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): { dir?: string; required?: boolean } | false {
  const off = values['no-audit'] === true || ['0', 'false', 'off'].includes(env.KEYWARD_AUDIT ?? '')
  const required = values['audit-required'] === true || truthy(env.KEYWARD_AUDIT_REQUIRED)
  if (off && required) throw new Error('--audit-required and --no-audit contradict each other')
  if (off) return false
  const dir = setting(values['audit-dir'] as string | undefined, env.KEYWARD_AUDIT_DIR)
  return { ...(dir ? { dir } : {}), ...(required ? { required } : {}) }
}

/** Connections open at once: 1 to 1,000,000. */
function parseMaxConnections(text: string): number {
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN
  if (!(n >= 1 && n <= 1_000_000)) throw new Error(`invalid --max-connections: ${text}`)
  return n
}

const urlOf = (a: AddressInfo) =>
  `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`

/** Resolves on the first SIGTERM or SIGINT: in-flight requests then finish before exit. */
function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      resolve()
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}

/**
 * The `keyward` command line.
 *
 * @example
 *   await main(['serve', '--dev', '--port', '4566'])
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve':
      return serve(rest, env)
    case 'credentials':
      return credentials(rest, env)
    case '--version':
      process.stdout.write(`keyward ${packageVersion()}\n`)
      return 0
    case 'principals': {
      const { principalsCommand } = await import('./principals.js')
      return principalsCommand(rest, env)
    }
    case 'backup': {
      const { backupCommand } = await import('./backup.js')
      return backupCommand(rest, env)
    }
    case 'restore': {
      const { restoreCommand } = await import('./backup.js')
      return restoreCommand(rest, env)
    }
    case 'root-key': {
      const { rootKeyCommand } = await import('./root-key.js')
      return rootKeyCommand(rest, env)
    }
    case 'audit': {
      const { auditCommand } = await import('./audit.js')
      return auditCommand(rest, env)
    }
    case 'xks-proxy': {
      const { xksProxy } = await import('./xks-proxy.js')
      return xksProxy(rest, env)
    }
    case 'migrate': {
      const { migrateCommand } = await import('./migrate.js')
      return migrateCommand(rest)
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE)
      return command === undefined ? 1 : 0
    default:
      process.stderr.write(`keyward: unknown command '${command}'\n\n${USAGE}`)
      return 1
  }
}
