import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from '../ports/clock.js'
import { authenticate, type CredentialTable } from './authenticate.js'
import { authorize } from './authorize.js'
import type { XksLimits, XksRule } from './config.js'
import { isXksError, XksError } from './errors.js'
import { decrypt } from './operations/decrypt.js'
import { encrypt } from './operations/encrypt.js'
import type { XksOperationContext } from './operations/context.js'
import { getHealthStatus } from './operations/get-health-status.js'
import { getKeyMetadata } from './operations/get-key-metadata.js'
import { matchesAny } from './patterns.js'
import { logRequest, type RequestLogEntry, type XksLogger } from './request-log.js'
import { invalidUriPath, parseApiUri, type XksRoute } from './routes.js'
import type { TokenBucket } from './throttle.js'
import { validateRequest, type XksInput } from './validate-request.js'
import { PROXY_MODEL } from './version.js'
import { BodyTooLarge, endAfterDiscarding, readBody } from '../wire/read-body.js'
import { toWire } from '../wire/to-wire.js'

/**
 * The XKS Proxy API over HTTP, as an ordered list of named steps (docs/xks-proxy.md draws it
 * with the error each step can raise):
 *
 *   route (404 InvalidUriPathException, before any authentication; 405 for a non-POST)
 *   → readBody (501 UnsupportedOperationException above the size limit)
 *   → authenticate (401 AuthenticationFailedException) → throttle (429 ThrottlingException)
 *   → checkContentType, validate (400 ValidationException, 501 for sizes)
 *   → checkKeyAllowed (404 KeyNotFoundException) → authorize (403 AccessDeniedException)
 *   → execute (operation errors; 503 DependencyTimeoutException; 500 InternalException)
 *   → serialize → log
 *
 * Plus `GET /ping` → 200 for load balancers (spec, "Load balancer health checks").
 */

/** One logical key store as the request path uses it. */
export interface KeyStoreRuntime {
  readonly uriPath: string
  readonly credentials: CredentialTable
  /** Allow-list of externalKeyId patterns; absent: every key. */
  readonly keys?: readonly string[]
  readonly rules?: readonly XksRule[]
  readonly bucket?: TokenBucket
}

/** The part of the configuration a reload (SIGHUP) can change while requests run. */
export interface XksRuntime {
  readonly region: string
  readonly keyStores: ReadonlyMap<string, KeyStoreRuntime>
}

export interface XksHandlerDeps {
  /** The current runtime (read once per request, so a reload never splits a request). */
  readonly runtime: () => XksRuntime
  readonly context: XksOperationContext
  readonly limits: XksLimits
  readonly clock: Clock
  readonly logger: XksLogger
  /** A key manager call slower than this answers DependencyTimeoutException (default 5 s). */
  readonly operationTimeoutMs?: number
}

/** What one request carried through the steps, for its log line. */
interface RequestState {
  route?: XksRoute
  accessKeyId?: string
  input?: XksInput
  rule?: string
}

/** The spec: requests are JSON with Content-Type application/json. */
function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') {
    throw new XksError('ValidationException', 'The Content-Type must be application/json.')
  }
}

function throttle(store: KeyStoreRuntime, now: number): void {
  if (store.bucket && !store.bucket.take(now)) {
    throw new XksError(
      'ThrottlingException',
      `The request rate of key store ${store.uriPath} is above its quota.`,
    )
  }
}

/** A key store's allow-list (xks_key_id_set in the reference proxy): others are not found. */
function checkKeyAllowed(store: KeyStoreRuntime, keyId: string): void {
  if (store.keys && !matchesAny(store.keys, keyId)) {
    throw new XksError('KeyNotFoundException', `No external key with id ${keyId}.`)
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new XksError('DependencyTimeoutException', 'The key manager did not answer in time.'),
        ),
      ms,
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function execute(
  ctx: XksOperationContext,
  input: XksInput,
  keyId: string | undefined,
): Promise<object> {
  switch (input.operation) {
    case 'GetHealthStatus':
      return getHealthStatus(ctx)
    case 'GetKeyMetadata':
      return getKeyMetadata(ctx, keyId!)
    case 'Encrypt':
      return encrypt(ctx, { keyId: keyId!, input })
    case 'Decrypt':
      return decrypt(ctx, { keyId: keyId!, input })
  }
}

function serialize(output: object): string {
  return JSON.stringify(toWire(output))
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: ReadonlyArray<string> = [],
): void {
  writeHead(res, status, { body, headers })
  res.end(body)
}

function writeHead(
  res: ServerResponse,
  status: number,
  answer: { body: string; headers: ReadonlyArray<string> },
): void {
  const { body, headers } = answer
  res.writeHead(status, [
    'content-type',
    'application/json',
    'content-length',
    String(Buffer.byteLength(body)),
    ...headers,
  ])
}

function sendText(res: ServerResponse, status: number, text: string, headers: string[] = []) {
  res.writeHead(status, [
    'content-type',
    'text/plain; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(text)),
    ...headers,
  ])
  res.end(text)
}

/**
 * The answer to `GET /ping` (and HEAD), for load balancers; any other method gets 405.
 *
 * @example
 *   if (req.url === '/ping') return answerPing(req, res)
 */
export function answerPing(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' || req.method === 'HEAD') {
    sendText(res, 200, `pong from ${PROXY_MODEL}\n`)
  } else sendText(res, 405, 'Method Not Allowed\n', ['allow', 'GET, HEAD'])
}

/**
 * Builds the request listener of node:https (or node:http behind a TLS terminator).
 *
 * @example
 *   https.createServer(tlsOptions, createXksRequestListener(deps)).listen(8443)
 */
export function createXksRequestListener(deps: XksHandlerDeps) {
  const timeoutMs = deps.operationTimeoutMs ?? 5000

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    state: RequestState & { requestId: string },
  ): Promise<number> {
    const requestId = state.requestId
    const runtime = deps.runtime()
    const route = parseApiUri(req.url ?? '')
    const store = route && runtime.keyStores.get(route.uriPath)
    if (!route || !store) throw invalidUriPath()
    state.route = route
    // The spec: a GET (or anything but POST) to an API URI MUST get 405 Method Not Allowed.
    if (req.method !== 'POST') {
      sendText(res, 405, 'Method Not Allowed\n', ['allow', 'POST'])
      return 405
    }
    const body = await readBody(req, deps.limits.maxBodyBytes)
    const now = deps.clock.now()
    state.accessKeyId = authenticate(req, body, {
      credentials: store.credentials,
      region: runtime.region,
      now,
    })
    throttle(store, now)
    checkContentType(req)
    const input = validateRequest(route.operation, body, deps.limits)
    state.input = input
    if (input.operation !== 'GetHealthStatus') {
      checkKeyAllowed(store, route.keyId!)
      const decision = authorize(store.rules, {
        operation: input.operation,
        keyId: route.keyId!,
        requestMetadata: input.requestMetadata,
      })
      state.rule = decision.rule
      if (!decision.allowed) {
        throw new XksError(
          'AccessDeniedException',
          `${input.operation} on external key ${route.keyId} is not allowed for this caller (rule: ${decision.rule}).`,
        )
      }
    }
    const output = await withTimeout(execute(deps.context, input, route.keyId), timeoutMs)
    send(res, 200, serialize(output), ['x-request-id', requestId])
    return 200
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now()
    const requestId = randomUUID()
    if (req.url === '/ping') {
      answerPing(req, res)
      return
    }
    const state: RequestState & { requestId: string } = { requestId }
    const finish = (status: number, error?: XksError) => {
      const entry: RequestLogEntry = {
        requestId,
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0]!,
        status,
        latencyMs: performance.now() - started,
        ...(state.route ? { uriPath: state.route.uriPath, operation: state.route.operation } : {}),
        ...(state.route?.keyId ? { keyId: state.route.keyId } : {}),
        ...(state.accessKeyId ? { accessKeyId: state.accessKeyId } : {}),
        ...(state.input ? { requestMetadata: state.input.requestMetadata } : {}),
        ...(error ? { errorName: error.errorName, errorMessage: error.message } : {}),
        ...(state.rule ? { rule: state.rule } : {}),
      }
      logRequest(deps.logger, entry)
    }
    handle(req, res, state).then(
      (status) => finish(status),
      (thrown: unknown) => {
        let error: XksError
        if (thrown instanceof BodyTooLarge) {
          error = new XksError(
            'UnsupportedOperationException',
            `The request body is larger than the ${deps.limits.maxBodyBytes} bytes this proxy accepts.`,
          )
          // The connection cannot carry another request; it is closed once the rest of the
          // body was read, so that a client still sending gets this answer, not a reset.
          const body = error.toBody()
          writeHead(res, error.status, {
            body,
            headers: ['x-request-id', requestId, 'connection', 'close'],
          })
          endAfterDiscarding(req, res, body)
          finish(error.status, error)
          return
        } else if (isXksError(thrown)) {
          error = thrown
        } else {
          // A bug or a key manager failure: a generic answer, the detail only in the log.
          deps.logger.error('internal error', {
            requestId,
            cause: thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown),
          })
          error = new XksError(
            'InternalException',
            `An internal error occurred. Request ID: ${requestId}`,
          )
        }
        if (isXksError(thrown) && thrown.cause !== undefined) {
          deps.logger.error('error cause', { requestId, cause: String(thrown.cause) })
        }
        if (!res.headersSent) send(res, error.status, error.toBody(), ['x-request-id', requestId])
        finish(error.status, error)
      },
    )
  }
}
