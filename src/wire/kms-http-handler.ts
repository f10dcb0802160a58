import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Invoke } from '../core/invoke.js'
import type { Caller } from '../domain/caller.js'
import { isKmsException, type KmsException } from '../domain/kms-exception.js'
import type { Clock } from '../ports/clock.js'
import type { Logger } from '../ports/logger.js'
import type { CustomKeyStoreService } from '../services/custom-key-stores.js'
import type { Principals } from '../config/principals.js'
import {
  KMSInternalException,
  SerializationException,
  UnknownOperationException,
} from '../domain/errors/exceptions.js'
import { OPERATION_NAMES, OUTPUT_MEMBERS, type KmsOperationName } from './generated/model.js'
import { renderMetrics } from './metrics.js'
import { BodyTooLarge, readBody } from './read-body.js'
import { verifySigV4 } from '../sigv4/sigv4.js'
import { validateInput } from './validate-input.js'
import { toWire } from './to-wire.js'

/**
 * The AWS JSON 1.1 protocol (awsJson1_1) on `POST /`, as an ordered list of named steps; the
 * order and the exception each step can raise are drawn in docs/lifecycle.md:
 *
 *   parseTarget → readBody → checkContentType → authenticate → parseJson → validate
 *   → invoke (the request core, src/core/invoke.ts) → serialize → (log)
 *
 * This file is protocol work only: what the call means is decided by the core.
 */

/** Largest request body accepted. The largest legitimate KMS request (a 256 KiB attestation
 * document in base64 plus a policy) is well below it. */
export const MAX_BODY_BYTES = 1024 * 1024
const TARGET_PREFIX = 'TrentService.'
const CONTENT_TYPES = new Set(['application/x-amz-json-1.1', 'application/x-amz-json-1.0'])
const KNOWN = new Set<string>(OPERATION_NAMES)

export interface KmsHttpDeps {
  /** The request core every front door calls. */
  readonly invoke: Invoke
  /** For GET /metrics (the health poll of external key store proxies). */
  readonly customKeyStores: CustomKeyStoreService
  /** SigV4's "now" (request dates more than 5 minutes off are refused). */
  readonly clock: Clock
  readonly principals: Principals
  /** Development mode: any well-formed SigV4 request is the admin of this caller. */
  readonly devCaller?: Caller
  readonly logger: Logger
}

function parseTarget(req: IncomingMessage): KmsOperationName {
  const target = req.headers['x-amz-target']
  const op =
    typeof target === 'string' && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : undefined
  if (req.method !== 'POST' || !op || !KNOWN.has(op)) throw new UnknownOperationException()
  return op as KmsOperationName
}

/** AWS's front end finds no operation for a body it cannot read as AWS JSON. */
function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (!CONTENT_TYPES.has(type)) throw new UnknownOperationException()
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {}
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
 * Builds the request listener for node:http.
 *
 * @example
 *   http.createServer(createKmsRequestListener(deps)).listen(4566)
 */
export function createKmsRequestListener(deps: KmsHttpDeps) {
  const lookup = (id: string) => deps.principals.credentials.get(id)

  async function handle(
    req: IncomingMessage,
    requestId: string,
  ): Promise<{ op: KmsOperationName; body: string }> {
    const op = parseTarget(req)
    const body = await readBody(req, MAX_BODY_BYTES)
    checkContentType(req)
    const { principal, region } = verifySigV4(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      {
        service: 'kms',
        now: deps.clock.now(),
        lookup,
        ...(deps.principals.regions ? { regions: deps.principals.regions } : {}),
        ...(deps.devCaller ? { devPrincipal: deps.devCaller } : {}),
      },
    )
    const input = validateInput(op, parseJson(body))
    const output = await deps.invoke({ operation: op, input, caller: principal, region, requestId })
    return { op, body: serialize(op, output) }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET' && req.url === '/metrics') {
      const body = renderMetrics({ xksHealth: deps.customKeyStores.xksHealthMetrics() })
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      res.end(body)
      return
    }
    const requestId = randomUUID()
    handle(req, requestId).then(
      ({ body }) => send(res, 200, ['x-amzn-requestid', requestId], body),
      (error: unknown) => {
        if (error instanceof BodyTooLarge) {
          const e = new SerializationException(
            `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
          )
          // The rest of the body is never read, so the connection cannot carry another
          // request: say so, or a keep-alive client reuses it and gets ECONNRESET.
          res.setHeader('connection', 'close')
          sendError(res, requestId, e, 413)
          res.once('finish', () => req.destroy())
        } else if (isKmsException(error)) {
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
