import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CONSOLE_CSP, createConsoleRoute } from '../../src/wire/console-route.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'

/** A server with only the console route; everything else answers 418, to see what fell through. */
async function serve(dir: string, dev: boolean): Promise<{ url: string; server: Server }> {
  const route = createConsoleRoute({ dir, config: () => ({ dev, regions: ['eu-west-1'] }) })
  const server = createServer((req, res) => {
    if (!route(req, res)) res.writeHead(418).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

/** GET with the path exactly as given. */
function rawGet(url: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url)
  const path = url.slice(url.indexOf('/', 'http://'.length))
  return new Promise((resolve, reject) => {
    request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
      .on('error', reject)
      .end()
  })
}

describe('console route (src/wire/console-route.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-console-'))
  let built: { url: string; server: Server }
  let empty: { url: string; server: Server }

  before(async () => {
    mkdirSync(join(dir, 'built', 'assets'), { recursive: true })
    writeFileSync(join(dir, 'built', 'index.html'), '<!doctype html><title>t</title>')
    writeFileSync(join(dir, 'built', 'assets', 'index-abc.js'), 'export {}')
    writeFileSync(join(dir, 'secret.txt'), 'outside the build')
    built = await serve(join(dir, 'built'), true)
    empty = await serve(join(dir, 'missing'), false)
  })
  after(async () => {
    built.server.close()
    empty.server.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves the page under a CSP that allows only this origin and no inline code', async () => {
    const res = await fetch(`${built.url}/console/`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(res.headers.get('x-frame-options'), 'DENY')
    assert.equal(res.headers.get('cache-control'), 'no-cache')
    assert.equal(await res.text(), '<!doctype html><title>t</title>')
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(CONSOLE_CSP.split('; ').includes(directive), directive)
    }
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*/)
  })

  it('serves hashed assets as immutable, and redirects /console to /console/', async () => {
    const js = await fetch(`${built.url}/console/assets/index-abc.js`)
    assert.equal(js.status, 200)
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    const bare = await fetch(`${built.url}/console?x=1`, { redirect: 'manual' })
    assert.equal(bare.status, 308)
    assert.equal(bare.headers.get('location'), '/console/')
  })

  it('tells the page its mode and Regions in config.json', async () => {
    const res = await fetch(`${built.url}/console/config.json`)
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
    assert.deepEqual(await res.json(), { dev: true, regions: ['eu-west-1'] })
    const prod = await fetch(`${empty.url}/console/config.json`)
    assert.deepEqual(await prod.json(), { dev: false, regions: ['eu-west-1'] })
  })

  it('serves only files of the build: no traversal, 404 for the rest', async () => {
    // node:http sends the path as written (fetch would normalise the dot segments away).
    for (const path of [
      '/console/../secret.txt',
      '/console/%2e%2e/secret.txt',
      '/console/nope.js',
    ]) {
      const res = await rawGet(`${built.url}${path}`)
      assert.deepEqual(res, { status: 404, body: 'Not found.\n' }, path)
    }
  })

  it('answers only GET and HEAD, and leaves every other URL to the KMS front door', async () => {
    const post = await fetch(`${built.url}/console/`, { method: 'POST', body: '{}' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET, HEAD')
    const head = await fetch(`${built.url}/console/`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('content-length'), '31')
    assert.equal((await fetch(`${built.url}/`)).status, 418)
    assert.equal((await fetch(`${built.url}/consoles`)).status, 418)
  })

  it('says how to build it when console/dist is missing', async () => {
    const res = await fetch(`${empty.url}/console/`)
    assert.equal(res.status, 404)
    assert.match(await res.text(), /^The console is not built: run `npm run build`/)
  })
})

describe('keyward serve answers /console beside the KMS API', () => {
  let kw: TestServer
  before(async () => {
    kw = await startKeyward()
  })
  after(() => kw.close())

  it('serves the console and still answers KMS calls on POST /', async () => {
    const page = await fetch(`${kw.endpoint}/console/config.json`)
    assert.equal(page.status, 200)
    assert.deepEqual(await page.json(), { dev: false, regions: [] })
    const kms = await fetch(`${kw.endpoint}/`, {
      method: 'POST',
      headers: {
        'x-amz-target': 'TrentService.ListKeys',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    })
    assert.equal(kms.status, 400)
    assert.equal(
      ((await kms.json()) as { __type: string }).__type,
      'MissingAuthenticationTokenException',
    )
  })
})
