import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Invoke } from '../core/invoke.js'
import type { Caller } from '../domain/caller.js'
import { isKmsException, type KmsException } from '../domain/kms-exception.js'
import type { RequestRateLimiter } from '../domain/quotas.js'
import type { Clock } from '../ports/clock.js'
import type { Logger } from '../ports/logger.js'
import type { AuditSink } from '../ports/audit-sink.js'
import { refusedBeforeCore, type CallProgress } from './audit-refusals.js'
import { originOf } from './origin.js'
import type { CustomKeyStoreService } from '../services/custom-key-stores.js'
import type { Principals } from '../config/principals.js'
import {
  KMSInternalException,
  SerializationException,
  UnknownOperationException,
} from '../domain/errors/exceptions.js'
import { OPERATION_NAMES, OUTPUT_MEMBERS, type KmsOperationName } from './generated/model.js'
import type { OpsEndpoints } from './ops-endpoints.js'
import type { KeywardMetrics } from '../services/metrics.js'
import { AWS_REGION_NAMES } from './aws-regions.js'
import { BodyTooLarge, endAfterDiscarding, readBody, RequestAborted } from './read-body.js'
import { verifySigV4 } from '../sigv4/sigv4.js'
import { validateInput } from './validate-input.js'
import { checkJsonBytes } from './json-body.js'
import { toWire } from './to-wire.js'
import { credentialLookup } from '../sts/credentials.js'
import type { SessionTokens } from '../sts/session-token.js'

/**
 * The AWS JSON 1.1 protocol (awsJson1_1) on `POST /`, as an ordered list of named steps; the
 * order and the exception each step can raise are drawn in docs/lifecycle.md:
 *
 *   parseTarget → readBody → checkContentType → authenticate → throttle → parseJson
 *   → validate → invoke (the request core, src/core/invoke.ts) → serialize → (log)
 *
 * This file is protocol work only: what the call means is decided by the core.
 */

/** Largest request body accepted. The largest legitimate KMS request (a 256 KiB attestation
 * document in base64 plus a policy) is well below it. */
export const MAX_BODY_BYTES = 1024 * 1024
const TARGET_PREFIX = 'TrentService.'
const CONTENT_TYPES = new Set(['application/x-amz-json-1.1', 'application/x-amz-json-1.0'])
const KNOWN = new Set<string>(OPERATION_NAMES)
/** The "exception" of a request whose peer went away before the answer (metrics only). */
const ABORTED = 'RequestAborted'
/** The answer to `GET /`. */
const ROOT_PAGE =
  'Keyward: a self-hosted key management service speaking the AWS KMS API (POST / with SigV4, from an AWS SDK or the aws CLI); documentation: README.md in the Keyward distribution, and `keyward serve --help`.\n'

export interface KmsHttpDeps {
  /** The request core every front door calls. */
  readonly invoke: Invoke
  /** Kept for callers that pass it; GET /metrics now reads {@link KmsHttpDeps.ops}. */
  readonly customKeyStores?: CustomKeyStoreService
  /** `GET /healthz`, `/readyz`, `/metrics` (src/wire/ops-endpoints.ts). */
  readonly ops?: OpsEndpoints
  /** Counts every answered request (operation, exception, latency). */
  readonly metrics?: KeywardMetrics
  /** SigV4's "now" (request dates more than 5 minutes off are refused). */
  readonly clock: Clock
  /** Read once per request: SIGHUP can swap them (see PrincipalsHolder). */
  readonly principals: { current(): Principals }
  /** Development mode: any well-formed SigV4 request is the admin of this caller. */
  readonly devCaller?: Caller
  /** AWS's request quotas per account and Region; absent when off (always in --dev). */
  readonly requestRates?: RequestRateLimiter
  readonly logger: Logger
  /**
   * Told of calls refused before the request core (authentication, throttling, validation),
   * which the core never sees; the core reports every other call itself.
   */
  readonly audit?: AuditSink
  /** Opens the session tokens of temporary credentials (STS); none accepted when absent. */
  readonly tokens?: SessionTokens
  /**
   * The STS front door: POST / form-encoded without X-Amz-Target is an STS Query request
   * (src/sts/sts-http-handler.ts), answered on the same port as AWS's SDKs expect when
   * AWS_ENDPOINT_URL_STS points here.
   */
  readonly sts?: {
    matches(req: IncomingMessage): boolean
    listener(req: IncomingMessage, res: ServerResponse): void
  }
}

/** The operation the request names, if it names one Keyward knows (else undefined). */
function targetOf(req: IncomingMessage): KmsOperationName | undefined {
  const target = req.headers['x-amz-target']
  const op =
    typeof target === 'string' && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : undefined
  return op && KNOWN.has(op) ? (op as KmsOperationName) : undefined
}

function parseTarget(req: IncomingMessage, op: KmsOperationName | undefined): KmsOperationName {
  if (req.method !== 'POST' || !op) throw new UnknownOperationException()
  return op
}

/** AWS's front end finds no operation for a body it cannot read as AWS JSON. */
function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (!CONTENT_TYPES.has(type)) throw new UnknownOperationException()
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {}
  checkJsonBytes(body)
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new SerializationException('Unexpected token: the request body is not valid JSON.')
  }
}

/** Only the members the model declares for `op` leave the server ("declared fields only"). */
function serialize(op: KmsOperationName, output: Record<string, unknown>): string {
  const out: Record<string, unknown> = {}
  for (const member of OUTPUT_MEMBERS[op]) {
    const v = output[member]
    if (v !== undefined) out[member] = toWire(v)
  }
  return JSON.stringify(out)
}

function send(res: ServerResponse, status: number, headers: readonly string[], body: string) {
  // The flat [name, value, …] form spares node an object walk per response.
  res.writeHead(status, [
    'content-type',
    'application/x-amz-json-1.1',
    'content-length',
    String(Buffer.byteLength(body)),
    ...headers,
  ])
  res.end(body)
}

/** `{"__type": name, "message": text}`; no message member when AWS sends none. */
function sendError(
  res: ServerResponse,
  requestId: string,
  error: KmsException,
  status = error.httpStatus,
) {
  const body = JSON.stringify(
    error.message ? { __type: error.name, message: error.message } : { __type: error.name },
  )
  send(res, status, ['x-amzn-requestid', requestId, 'x-amzn-errortype', error.name], body)
}

/**
 * The 413 for a body over {@link MAX_BODY_BYTES}. The answer is written at once, but the
 * response is ended (and the connection closed) only after the rest of the body was read
 * ({@link endAfterDiscarding}).
 */
function refuseBodyTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  call: { requestId: string },
): void {
  const error = new SerializationException(
    `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
  )
  const body = JSON.stringify({ __type: error.name, message: error.message })
  // The connection cannot be trusted to carry another request after a refused body.
  res.writeHead(413, [
    'content-type',
    'application/x-amz-json-1.1',
    'content-length',
    String(Buffer.byteLength(body)),
    'x-amzn-requestid',
    call.requestId,
    'x-amzn-errortype',
    error.name,
    'connection',
    'close',
  ])
  endAfterDiscarding(req, res, body)
}

/**
 * Builds the request listener for node:http.
 *
 * @example
 *   http.createServer(createKmsRequestListener(deps)).listen(4566)
 */
export function createKmsRequestListener(deps: KmsHttpDeps) {
  async function handle(
    req: IncomingMessage,
    call: { requestId: string; target: KmsOperationName | undefined; progress: CallProgress },
  ): Promise<{ op: KmsOperationName; body: string }> {
    const { requestId, progress } = call
    const op = parseTarget(req, call.target)
    progress.operation = op
    const body = await readBody(req, MAX_BODY_BYTES)
    checkContentType(req)
    const principals = deps.principals.current()
    const now = deps.clock.now()
    const { principal, region, accessKeyId } = verifySigV4(
      {
        method: req.method ?? 'POST',
        url: req.url ?? '/',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      },
      {
        service: 'kms',
        now,
        lookup: credentialLookup(principals, deps.tokens, now),
        // AWS's front end answers a Region it does not have as a bad credential scope; the
        // `regions` setting replaces AWS's list (and may name a Region of one's own).
        regions: principals.regions ?? AWS_REGION_NAMES,
        ...(deps.devCaller ? { devPrincipal: deps.devCaller } : {}),
      },
    )
    progress.caller = principal
    progress.region = region
    deps.requestRates?.admit({ accountId: principal.accountId, region, operation: op, body })
    const input = validateInput(op, parseJson(body))
    progress.inCore = true
    const output = await deps.invoke({
      operation: op,
      input,
      // The key the request was signed with, for the audit trail's userIdentity.
      caller: principal.accessKeyId ? principal : { ...principal, accessKeyId },
      region,
      requestId,
      origin: originOf(req),
    })
    return { op, body: serialize(op, output) }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET' && req.url === '/') {
      // Someone opened the endpoint in a browser: say what this is, with no data and no auth.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(ROOT_PAGE)
      return
    }
    if (deps.ops?.(req, res)) return
    if (deps.sts?.matches(req)) {
      deps.sts.listener(req, res)
      return
    }
    const requestId = randomUUID()
    const started = performance.now()
    const target = targetOf(req)
    // One line per request at debug level, and the request metrics, once it is answered.
    const done = (exception?: string) => {
      const seconds = (performance.now() - started) / 1000
      const operation = target ?? 'unknown'
      deps.metrics?.request(operation, seconds)
      if (exception !== undefined) deps.metrics?.failed(operation, exception)
      // An aborted request has its own debug line ('request aborted'), written below.
      if (deps.logger.debugEnabled === false || exception === ABORTED) return
      deps.logger.debug('request', {
        requestId,
        operation,
        ...(exception === undefined ? {} : { exception }),
        ms: Math.round(seconds * 1e4) / 10,
      })
    }
    const progress: CallProgress = { inCore: false }
    handle(req, { requestId, target, progress }).then(
      ({ body }) => {
        send(res, 200, ['x-amzn-requestid', requestId], body)
        done()
      },
      (error: unknown) => {
        done(
          error instanceof RequestAborted
            ? ABORTED
            : error instanceof BodyTooLarge
              ? SerializationException.name
              : isKmsException(error)
                ? error.name
                : KMSInternalException.name,
        )
        if (error instanceof BodyTooLarge) {
          refuseBodyTooLarge(req, res, { requestId })
        } else if (error instanceof RequestAborted) {
          // Nobody is left to answer, and any peer can cause this before authenticating: a
          // debug line without a stack, never an error (issue 10).
          deps.logger.debug('request aborted', { requestId })
        } else if (isKmsException(error)) {
          if (deps.audit && !progress.inCore) {
            const event = refusedBeforeCore(req, {
              requestId,
              progress,
              error,
              at: deps.clock.now(),
              accountOf: (key) =>
                deps.principals.current().credentials.get(key)?.principal.accountId,
            })
            if (event) deps.audit.record(event)
          }
          if (error.fault === 'server')
            deps.logger.error(error.name, {
              requestId,
              cause: String(error.cause ?? error.message),
            })
          sendError(res, requestId, error)
        } else {
          // Anything else is a bug or an I/O failure: a generic answer, the detail in the log.
          deps.logger.error('internal error', {
            requestId,
            cause: error instanceof Error ? error.stack : String(error),
          })
          sendError(
            res,
            requestId,
            new KMSInternalException(`An internal error occurred. Request ID: ${requestId}`),
          )
        }
      },
    )
  }
}
