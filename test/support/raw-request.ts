import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import { ADMIN } from './keyward-server.js'

/** The answer to a raw request, with the body as text and parsed (when JSON). */
export interface RawResponse {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: Record<string, unknown> | undefined
}

/**
 * Sends one request as bytes on the wire, optionally signed with SigV4 by @smithy/signature-v4
 * (an independent signer), to assert status codes, headers and exact bodies.
 *
 * @example
 *   const r = await rawRequest(endpoint, { target: 'TrentService.ListKeys', body: '{}' })
 */
export async function rawRequest(
  endpoint: string,
  req: {
    target?: string
    body?: string | Uint8Array
    contentType?: string
    sign?: boolean
    credentials?: { accessKeyId: string; secretAccessKey: string }
    region?: string
    signingDate?: Date
    headers?: Record<string, string>
  },
): Promise<RawResponse> {
  const url = new URL(endpoint)
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': req.contentType ?? 'application/x-amz-json-1.1',
    ...(req.target ? { 'x-amz-target': req.target } : {}),
    ...req.headers,
  }
  const body = req.body ?? '{}'
  let sent = headers
  if (req.sign !== false) {
    const signer = new SignatureV4({
      service: 'kms',
      region: req.region ?? 'us-east-1',
      credentials: req.credentials ?? ADMIN,
      sha256: Sha256,
    })
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers,
        body,
      },
      req.signingDate ? { signingDate: req.signingDate } : {},
    )
    sent = signed.headers as Record<string, string>
  }
  const { host: _host, ...fetchHeaders } = sent
  const response = await fetch(endpoint + '/', { method: 'POST', headers: fetchHeaders, body })
  const text = await response.text()
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}
