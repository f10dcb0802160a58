import { request as httpsRequest, Agent } from 'node:https'
import { request as httpRequest } from 'node:http'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

/** Where an XKS proxy is and how to talk to it. */
export interface XksTarget {
  /** https://localhost:<port> or http://127.0.0.1:<port>. */
  readonly endpoint: string
  readonly uriPath: string
  readonly credential: { AccessKeyId: string; RawSecretAccessKey: string }
  /** The CA to trust for https. */
  readonly caCertPem?: string
}

/** An answer, with the body as text and parsed when it is JSON. */
export interface XksResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
  readonly json: Record<string, unknown> | undefined
  /** The request headers as sent. */
  readonly sentHeaders: Record<string, string>
}

export interface XksRequestOptions {
  /** Below uriPath, e.g. 'health' or 'keys/foo/encrypt'; or a full path with `rawPath`. */
  readonly path?: string
  readonly rawPath?: string
  readonly method?: string
  /** An object is sent as JSON; a string as is. */
  readonly body?: unknown
  readonly contentType?: string | null
  /** false: no signature. */
  readonly sign?: boolean
  readonly credential?: { AccessKeyId: string; RawSecretAccessKey: string }
  readonly region?: string
  readonly service?: string
  readonly signingDate?: Date
  readonly headers?: Record<string, string>
  /** Headers to leave out of the signature (e.g. to sign only host and x-amz-date). */
  readonly unsignedHeaders?: readonly string[]
  /** Client certificate for mutual TLS. */
  readonly clientCert?: { certPem: string; keyPem: string }
  readonly agent?: Agent
  /** Changes the Authorization header after signing (to test what the proxy requires). */
  readonly rewriteAuthorization?: (authorization: string) => string
  /** Headers removed after signing (e.g. x-amz-content-sha256, which KMS does not send). */
  readonly dropHeaders?: readonly string[]
  /** Sends this body instead of the one signed. */
  readonly sendBody?: string
}

/** Request metadata as AWS KMS sends it for Encrypt and Decrypt. */
export const KMS_METADATA = {
  awsPrincipalArn: 'arn:aws:iam::111122223333:user/Alice',
  kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  kmsOperation: 'Encrypt',
  kmsRequestId: '4112f4d6-db54-4af4-ae30-c55a22a8dfae',
  kmsViaService: 'ebs',
}

/**
 * Sends one request to an XKS proxy, signed with SigV4 (service kms-xks-proxy) by
 * @smithy/signature-v4, an implementation independent of the proxy's.
 *
 * @example
 *   const r = await xksRequest(proxy, { path: 'health', body: { requestMetadata: { kmsRequestId: 'x', kmsOperation: 'KmsHealthCheck' } } })
 */
export async function xksRequest(
  target: XksTarget,
  options: XksRequestOptions,
): Promise<XksResponse> {
  const url = new URL(target.endpoint)
  const path = options.rawPath ?? `${target.uriPath}/${options.path ?? 'health'}`
  const body =
    options.body === undefined
      ? ''
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body)
  const headers: Record<string, string> = {
    host: url.host,
    ...(options.contentType === null
      ? {}
      : { 'content-type': options.contentType ?? 'application/json' }),
    ...options.headers,
  }
  let sent = headers
  if (options.sign !== false) {
    const credential = options.credential ?? target.credential
    const signer = new SignatureV4({
      service: options.service ?? 'kms-xks-proxy',
      region: options.region ?? 'us-east-1',
      credentials: {
        accessKeyId: credential.AccessKeyId,
        secretAccessKey: credential.RawSecretAccessKey,
      },
      sha256: Sha256,
    })
    const signed = await signer.sign(
      {
        method: options.method ?? 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path,
        headers,
        body,
      },
      {
        ...(options.signingDate ? { signingDate: options.signingDate } : {}),
        ...(options.unsignedHeaders ? { unsignableHeaders: new Set(options.unsignedHeaders) } : {}),
      },
    )
    sent = signed.headers as Record<string, string>
    if (options.rewriteAuthorization) {
      sent = { ...sent, authorization: options.rewriteAuthorization(sent.authorization!) }
    }
  }
  if (options.dropHeaders) {
    sent = Object.fromEntries(
      Object.entries(sent).filter(([k]) => !options.dropHeaders!.includes(k.toLowerCase())),
    )
  }
  const wire = options.sendBody ?? body
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = requestFn(
      {
        host: url.hostname,
        port: Number(url.port),
        method: options.method ?? 'POST',
        path,
        headers: { ...sent, 'content-length': String(Buffer.byteLength(wire)) },
        ...(url.protocol === 'https:'
          ? {
              ca: target.caCertPem,
              ...(options.clientCert
                ? { cert: options.clientCert.certPem, key: options.clientCert.keyPem }
                : {}),
              ...(options.agent ? { agent: options.agent } : { agent: false }),
            }
          : { agent: false }),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: Record<string, unknown> | undefined
          try {
            json = JSON.parse(text) as Record<string, unknown>
          } catch {
            json = undefined
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json,
            sentHeaders: sent,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(wire)
  })
}
