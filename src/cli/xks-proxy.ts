import { parseArgs } from 'node:util'

/**
 * `keyward xks-proxy`: Keyward's own XKS proxy (docs/xks-proxy.md) and the management of its
 * keys. Everything is loaded lazily, so `--help` answers without opening anything.
 */

export const XKS_PROXY_USAGE = `Usage: keyward xks-proxy <command> [options]

Keyward's XKS proxy: the External Key Store Proxy API v1 (health, key metadata, encrypt,
decrypt) over HTTPS with SigV4, in front of a local keystore or a PKCS#11 token.
See docs/xks-proxy.md for the configuration file.

Commands:
  serve --config <file>              Start the proxy (also: keyward xks-proxy --config <file>).
                                     SIGHUP re-reads the file: credentials, keys lists, rules,
                                     quotas, Region and certificate change without a restart.
  keys create <id> [--usage U]       Create an AES-256 key; U is ENCRYPT,DECRYPT (default),
                                     ENCRYPT, DECRYPT or NONE
  keys delete <id>                   Destroy a key (its ciphertexts can never be decrypted again)
  keys disable <id> | enable <id>    Disable or enable a key (GetKeyMetadata says DISABLED;
                                     Encrypt and Decrypt answer InvalidStateException)
  keys list [--json]                 List the keys
  credentials [--uri-path <path>]    Make a new SigV4 credential pair and print it as the JSON
                                     the AWS KMS console takes (add it to the config file too)
  console-json [--uri-path <path>] [--access-key-id <id>]
                                     Print that JSON for a credential of the config file

Every command but 'credentials' takes --config <file> (or KEYWARD_XKS_CONFIG).
Environment: KEYWARD_XKS_PKCS11_PIN (the token's user PIN, unless backend.pinEnv names
another variable), KEYWARD_XKS_ROOT_KEY (base64 of 32 bytes instead of <dataDir>/root.key).
`

const USAGES = new Map<string, Array<'ENCRYPT' | 'DECRYPT'>>([
  ['ENCRYPT,DECRYPT', ['ENCRYPT', 'DECRYPT']],
  ['DECRYPT,ENCRYPT', ['ENCRYPT', 'DECRYPT']],
  ['ENCRYPT', ['ENCRYPT']],
  ['DECRYPT', ['DECRYPT']],
  ['NONE', []],
])

function configPath(value: string | undefined, env: NodeJS.ProcessEnv): string {
  const path = value ?? (env.KEYWARD_XKS_CONFIG || undefined)
  if (!path)
    throw new Error('keyward xks-proxy: --config <file> is required (or KEYWARD_XKS_CONFIG)')
  return path
}

async function loadSettings(path: string, env: NodeJS.ProcessEnv) {
  const { readXksProxyConfig, resolveXksProxyConfig } = await import('../xks-proxy/config.js')
  return resolveXksProxyConfig(readXksProxyConfig(path), env)
}

/** Resolves on the first SIGTERM or SIGINT; calls `onHangup` on each SIGHUP meanwhile. */
function untilStopped(onHangup: () => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      process.off('SIGHUP', onHangup)
      resolve()
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    process.on('SIGHUP', onHangup)
  })
}

async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(XKS_PROXY_USAGE)
    return 0
  }
  const path = configPath(values.config, env)
  const settings = await loadSettings(path, env)
  const { createXksProxy } = await import('../xks-proxy/proxy-server.js')
  const { jsonLineLogger } = await import('../xks-proxy/request-log.js')
  // The root key and the database are for the proxy's user only.
  process.umask(0o077)
  const proxy = await createXksProxy(settings, { env })
  const { url, pingUrl } = await proxy.listen()
  const stores = settings.keyStores.map((s) => s.uriPath).join(', ')
  const backend =
    settings.backend.type === 'local'
      ? `local keystore in ${settings.dataDir}`
      : `PKCS#11 ${settings.backend.tokenLabel !== undefined ? `token ${settings.backend.tokenLabel}` : `token serial ${settings.backend.tokenSerial}`} (${settings.backend.modulePath})`
  console.log(
    `Keyward XKS proxy listening on ${url} (${settings.plainHttp ? 'PLAIN HTTP, ' : ''}${settings.tls?.clientCaPem ? 'mutual TLS, ' : ''}key stores ${stores}; backend ${backend}; Region ${settings.region}${pingUrl ? `; ping ${pingUrl}` : ''})`,
  )
  await untilStopped(() => {
    loadSettings(path, env).then(
      (next) => {
        const restart = proxy.reload(next)
        jsonLineLogger.info('configuration reloaded', {
          path,
          ...(restart.length ? { needsRestart: restart } : {}),
        })
      },
      (error: unknown) =>
        jsonLineLogger.error('configuration not reloaded', {
          path,
          cause: error instanceof Error ? error.message : String(error),
        }),
    )
  })
  await proxy.close()
  return 0
}

async function keys(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      usage: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  })
  const [action, id, ...extra] = positionals
  if (values.help || !action) {
    process.stdout.write(XKS_PROXY_USAGE)
    return values.help ? 0 : 1
  }
  const { EXTERNAL_KEY_ID } = await import('../xks-proxy/routes.js')
  const needsId = action !== 'list'
  if (needsId && (!id || !EXTERNAL_KEY_ID.test(id))) {
    throw new Error(
      `keyward xks-proxy keys ${action}: give a key id of 1 to 128 of A-Z a-z 0-9 . _ -`,
    )
  }
  if (extra.length > 0 || (!needsId && id))
    throw new Error(`unexpected argument: ${extra[0] ?? id}`)
  if (values.usage !== undefined && action !== 'create')
    throw new Error('--usage goes with keys create')
  const usage = USAGES.get((values.usage ?? 'ENCRYPT,DECRYPT').toUpperCase())
  if (!usage)
    throw new Error(
      `invalid --usage ${values.usage}: use ENCRYPT,DECRYPT, ENCRYPT, DECRYPT or NONE`,
    )
  const settings = await loadSettings(configPath(values.config, env), env)
  const { openXksBackend } = await import('../xks-proxy/proxy-server.js')
  process.umask(0o077)
  const backend = await openXksBackend(settings, { env })
  try {
    const { keyManager, store } = backend
    switch (action) {
      case 'create':
        await keyManager.createKey(id!, { usage })
        console.log(
          `Created key ${id} (AES_256, ${usage.join(',') || 'no usage'}) in the ${keyManager.kind} backend.`,
        )
        return 0
      case 'delete':
        if (!(await keyManager.deleteKey(id!))) throw new Error(`no key ${id}`)
        await store.setDisabled(id!, false)
        console.log(`Deleted key ${id}.`)
        return 0
      case 'disable':
      case 'enable':
        await keyManager.describeKey(id!).catch(() => {
          throw new Error(`no key ${id}`)
        })
        await store.setDisabled(id!, action === 'disable')
        console.log(`Key ${id} is ${action}d.`)
        return 0
      case 'list': {
        const { disabled } = await store.snapshot()
        const list = (await keyManager.listKeys())
          .filter((k) => k.id !== settings.healthKeyId)
          .map((k) => ({ ...k, keyStatus: disabled.has(k.id) ? 'DISABLED' : 'ENABLED' }))
        if (values.json) console.log(JSON.stringify(list, null, 2))
        else
          for (const k of list)
            console.log(`${k.id}\t${k.keySpec}\t${k.keyUsage.join(',') || '-'}\t${k.keyStatus}`)
        return 0
      }
      default:
        throw new Error(`unknown keys command '${action}' (create, delete, disable, enable, list)`)
    }
  } finally {
    await backend.close()
  }
}

async function credentials(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'uri-path': { type: 'string' } }, strict: true })
  const { generateCredential, consoleConfiguration } = await import('../xks-proxy/credentials.js')
  const { isValidUriPath } = await import('../xks-proxy/routes.js')
  const uriPath = values['uri-path'] ?? '/kms/xks/v1'
  if (!isValidUriPath(uriPath))
    throw new Error(`invalid --uri-path ${uriPath}: use [/<prefix>]/kms/xks/v1`)
  console.log(JSON.stringify(consoleConfiguration(uriPath, generateCredential()), null, 2))
  return 0
}

async function consoleJson(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      'uri-path': { type: 'string' },
      'access-key-id': { type: 'string' },
    },
    strict: true,
  })
  const { readXksProxyConfig } = await import('../xks-proxy/config.js')
  const { consoleConfiguration } = await import('../xks-proxy/credentials.js')
  const config = readXksProxyConfig(configPath(values.config, env))
  const wanted = values['uri-path']
  const stores = config.keyStores.filter((s) => wanted === undefined || s.uriPath === wanted)
  if (stores.length !== 1) {
    throw new Error(
      wanted
        ? `no key store with uriPath ${wanted}`
        : 'the config has several key stores: give --uri-path',
    )
  }
  const store = stores[0]!
  const id = values['access-key-id']
  const credential = id
    ? store.credentials.find((c) => c.accessKeyId === id)
    : store.credentials.at(-1)
  if (!credential) throw new Error(`key store ${store.uriPath} has no access key id ${id}`)
  console.log(JSON.stringify(consoleConfiguration(store.uriPath, credential), null, 2))
  return 0
}

/**
 * Runs `keyward xks-proxy <args>`.
 *
 * @example
 *   await xksProxy(['keys', 'create', 'foo', '--config', 'xks.json'], process.env)
 */
export async function xksProxy(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = args
  switch (command) {
    case 'serve':
      return serve(rest, env)
    case 'keys':
      return keys(rest, env)
    case 'credentials':
      return credentials(rest)
    case 'console-json':
      return consoleJson(rest, env)
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(XKS_PROXY_USAGE)
      return command === undefined ? 1 : 0
    default:
      // `keyward xks-proxy --config <file>` is serve.
      if (command.startsWith('--config')) return serve(args, env)
      process.stderr.write(`keyward xks-proxy: unknown command '${command}'\n\n${XKS_PROXY_USAGE}`)
      return 1
  }
}
