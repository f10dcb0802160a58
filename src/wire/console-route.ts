import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The web console (issue 16): the static files Vite built into `console/dist`, served at
 * `/console/` from the same origin as the KMS endpoint, plus one JSON document the page reads
 * to learn the server's mode. The page itself calls KMS like any other client, through the
 * official browser SDK with SigV4 signatures, so it can do nothing its credentials cannot.
 */

/** Where every URL of the console starts. */
export const CONSOLE_PATH = '/console'

/**
 * The Content-Security-Policy of every console response. Only this origin's files run and load
 * (`'self'`, no inline script or style, no `eval`), requests go only to this origin (the KMS
 * endpoint), and no other site may frame the page (clickjacking): W3C CSP Level 3,
 * https://www.w3.org/TR/CSP3/ and OWASP's CSP cheat sheet.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

/** Headers every console answer carries, the page and its files alike. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/** One file of the build, read once at start-up. */
interface Asset {
  readonly body: Buffer
  readonly type: string
  /** Vite's hashed file names never change content, so they may be cached for a year. */
  readonly immutable: boolean
}

/** What the page is told by `GET /console/config.json`. */
export interface ConsoleConfig {
  /** `keyward serve --dev`: any well-formed signature is the admin, so the page signs in at once. */
  readonly dev: boolean
  /** The Regions served (principals' `regions`), or none when every Region is. */
  readonly regions: readonly string[]
}

/** Options of {@link createConsoleRoute}. */
export interface ConsoleRouteOptions {
  /** The built console (`console/dist`); {@link DEFAULT_CONSOLE_DIR} by default. */
  readonly dir?: string
  /** Read per request: SIGHUP can change the Regions. */
  readonly config: () => ConsoleConfig
}

/** `console/dist` of this installation (this file is dist/src/wire/console-route.js). */
export const DEFAULT_CONSOLE_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'console',
  'dist',
)

/**
 * Every file under `dir`, keyed by its URL path below /console/. Serving only what this table
 * holds leaves no room for path traversal: a URL is looked up, never joined to a path.
 */
function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  if (!existsSync(dir)) return assets
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const url = relative(dir, path).split(sep).join('/')
        assets.set(url, {
          body: readFileSync(path),
          type: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
          immutable: url.startsWith('assets/'),
        })
      }
    }
  }
  walk(dir)
  return assets
}

/**
 * The part of `url` below /console/ without the query ('' for the page itself), `null` for
 * /console (redirected), undefined when it is not a console URL.
 */
function consolePath(url: string): string | null | undefined {
  const path = url.split('?', 1)[0] ?? ''
  if (path === CONSOLE_PATH) return null
  if (!path.startsWith(`${CONSOLE_PATH}/`)) return undefined
  return path.slice(CONSOLE_PATH.length + 1)
}

function sendAsset(res: ServerResponse, asset: Asset, head: boolean): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  res.end(head ? undefined : asset.body)
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' })
  res.end(text)
}

/**
 * The console's request handler: answers GET and HEAD under /console and returns true, or
 * returns false for every other request (the KMS and STS front doors take those).
 *
 * @example
 *   const consoleRoute = createConsoleRoute({ config: () => ({ dev: false, regions: [] }) })
 *   http.createServer((req, res) => consoleRoute(req, res) || kms(req, res))
 */
export function createConsoleRoute(
  options: ConsoleRouteOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const dir = options.dir ?? DEFAULT_CONSOLE_DIR
  const assets = readAssets(dir)
  return (req, res) => {
    const path = consolePath(req.url ?? '/')
    if (path === undefined) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      sendText(res, 405, 'The console answers GET and HEAD only; KMS calls are POST /.\n')
      return true
    }
    const head = req.method === 'HEAD'
    if (path === null) {
      // Relative asset URLs in index.html resolve against /console/, not /.
      res.writeHead(308, { ...SECURITY_HEADERS, location: `${CONSOLE_PATH}/` })
      res.end()
      return true
    }
    if (path === 'config.json') {
      const body = Buffer.from(JSON.stringify(options.config()))
      sendAsset(res, { body, type: CONTENT_TYPES['.json']!, immutable: false }, head)
      return true
    }
    const asset = assets.get(path === '' || path.endsWith('/') ? `${path}index.html` : path)
    if (asset) sendAsset(res, asset, head)
    else if (assets.size === 0)
      sendText(
        res,
        404,
        `The console is not built: run \`npm run build\` (it builds ${dir} with \`npm ci --prefix console\`).\n`,
      )
    else sendText(res, 404, 'Not found.\n')
    return true
  }
}
