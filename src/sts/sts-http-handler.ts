import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Principals } from '../config/principals.js'
import type { Caller } from '../domain/caller.js'
import type { Clock } from '../ports/clock.js'
import type { Logger } from '../ports/logger.js'
import { verifySigV4 } from '../sigv4/sigv4.js'
import { AWS_REGION_NAMES } from '../wire/aws-regions.js'
import { BodyTooLarge, endAfterDiscarding, readBody, RequestAborted } from '../wire/read-body.js'
import { credentialLookup } from './credentials.js'
import type { SessionTokens } from './session-token.js'
import { errorXml, STS_MESSAGES, StsError, toStsError } from './sts-errors.js'
import {
  assumeRole,
  getCallerIdentity,
  getSessionToken,
  newRequestId,
  type StsContext,
} from './sts-operations.js'

/**
 * The STS front door: the AWS Query protocol (STS API Reference, "Making Query Requests") on
 * `POST /` with `Content-Type: application/x-www-form-urlencoded`, `Action=…&Version=2011-06-15`,
 * signed with SigV4 for the service `sts`. Answers are XML as AWS's STS writes them, so that
 * `@aws-sdk/client-sts`, boto3 and `aws sts` read them. It never calls a KMS operation.
 *
 *   readBody → authenticate (SigV4, service sts) → parse form → action → XML
 */

/** STS Query requests are small; AssumeRole's largest member, Policy, is 2,048 characters. */
const MAX_STS_BODY_BYTES = 64 * 1024
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/'

const ACTIONS: Record<string, (ctx: StsContext) => string> = {
  GetCallerIdentity: getCallerIdentity,
  AssumeRole: assumeRole,
  GetSessionToken: getSessionToken,
}

/** What the STS front door needs. */
export interface StsHttpDeps {
  readonly clock: Clock
  /** Read once per request: SIGHUP can swap them. */
  readonly principals: { current(): Principals }
  /** Seals and opens the session tokens of temporary credentials. */
  readonly tokens: SessionTokens
  /** Development mode: every well-formed request is this caller. */
  readonly devCaller?: Caller
  readonly logger: Logger
}

/** True for a request that the STS front door answers (form-encoded, no KMS target). */
export function isStsRequest(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.headers['x-amz-target'] !== undefined) return false
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  return type === 'application/x-www-form-urlencoded'
}

function send(res: ServerResponse, status: number, body: string, requestId: string): void {
  writeHead(res, status, { body, requestId })
  res.end(body)
}

/** The head of an STS answer; `close` when the connection cannot carry another request. */
function writeHead(
  res: ServerResponse,
  status: number,
  answer: { body: string; requestId: string; close?: boolean },
): void {
  res.writeHead(status, [
    'content-type',
    'text/xml',
    'content-length',
    String(Buffer.byteLength(answer.body)),
    'x-amzn-requestid',
    answer.requestId,
    ...(answer.close ? ['connection', 'close'] : []),
  ])
}

/**
 * Builds the STS request listener.
 *
 * @example
 *   const sts = createStsRequestListener({ clock, principals, tokens, logger })
 *   if (isStsRequest(req)) sts(req, res)
 */
export function createStsRequestListener(deps: StsHttpDeps) {
  async function handle(req: IncomingMessage): Promise<{ action: string; result: string }> {
    const body = await readBody(req, MAX_STS_BODY_BYTES)
    const principals = deps.principals.current()
    const now = deps.clock.now()
    const { principal } = verifySigV4(
      {
        method: 'POST',
        url: req.url ?? '/',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      },
      {
        service: 'sts',
        now,
        lookup: credentialLookup(principals, deps.tokens, now),
        regions: principals.regions ?? AWS_REGION_NAMES,
        ...(deps.devCaller ? { devPrincipal: deps.devCaller } : {}),
      },
    )
    const params = new URLSearchParams(body.toString('utf8'))
    const action = params.get('Action') ?? ''
    const run = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined
    if (!run || params.get('Version') !== '2011-06-15') {
      throw new StsError('InvalidAction', STS_MESSAGES.unknownAction(action))
    }
    return {
      action,
      result: run({ caller: principal, principals, tokens: deps.tokens, now, params }),
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = newRequestId()
    handle(req).then(
      ({ action, result }) =>
        send(
          res,
          200,
          `<${action}Response xmlns="${XMLNS}">\n  <${action}Result>\n${result}  </${action}Result>\n` +
            `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n` +
            `</${action}Response>\n`,
          requestId,
        ),
      (error: unknown) => {
        if (error instanceof RequestAborted) {
          deps.logger.debug('request aborted', { requestId })
          return
        }
        if (error instanceof BodyTooLarge) {
          const xml = errorXml(
            new StsError('RequestEntityTooLarge', 'Request body is too large.', 413),
            requestId,
          )
          writeHead(res, 413, { body: xml, requestId, close: true })
          endAfterDiscarding(req, res, xml)
          return
        }
        const sts = toStsError(error)
        if (sts) {
          send(res, sts.status, errorXml(sts, requestId), requestId)
          return
        }
        deps.logger.error('internal error', {
          requestId,
          cause: error instanceof Error ? error.stack : String(error),
        })
        const internal = new StsError(
          'InternalFailure',
          `An internal error occurred. Request ID: ${requestId}`,
          500,
        )
        send(
          res,
          500,
          errorXml(internal, requestId).replace('<Type>Sender</Type>', '<Type>Receiver</Type>'),
          requestId,
        )
      },
    )
  }
}
