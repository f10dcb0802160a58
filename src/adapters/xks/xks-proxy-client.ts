import { createHash } from 'node:crypto'
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { XKS_ERROR_NAMES, XksProxyError, type XksErrorName } from '../../domain/xks-failures.js'
import type { XksProxyTarget } from '../../ports/key-material-backend.js'
import { signSigV4 } from '../../sigv4/sigv4.js'

/**
 * Keyward's side of the XKS Proxy API v1 (aws/aws-kms-xksproxy-api-spec v1.0.3; facts in
 * ../shared/reference/xks.md §1 and §2): JSON POSTs over kept-alive TLS connections, signed
 * with SigV4 for service `kms-xks-proxy`, each bounded by one deadline (AWS KMS: 250 ms for
 * TCP, TLS and HTTP together), and every response checked strictly before it is believed.
 */

// Defined in the domain and the port, which operations may import; re-exported for callers.
export { XksProxyError }
export type { XksProxyTarget }

/** A failure's label: the proxy's error name, else its kind (timeout, tls, unreachable, …). */
const failureName = (failure: XksProxyError['failure']) =>
  failure.kind === 'proxy' ? failure.errorName : failure.kind

/** How Keyward reaches proxies in general (the `xksClient` section of the configuration). */
export interface XksClientSettings {
  /** PEM CA certificates to trust for proxies; Node's bundled roots when absent. */
  readonly caCertificates?: string
  /** Deadline of one call, connection included (default 250 ms, as AWS KMS). */
  readonly timeoutMs?: number
  /** A client certificate and key (PEM) for proxies that require mutual TLS. */
  readonly clientCertificate?: { readonly cert: string; readonly key: string }
  /**
   * Told of every finished call (the XKS proxy latency and error metrics): the route, how
   * long it took, and the XksProxyError failure kind when it failed. Never the payload.
   */
  readonly observe?: (call: { route: string; seconds: number; failure?: string }) => void
}

/** requestMetadata (XKS spec, "Request metadata"); which fields go in depends on the call. */
export interface XksRequestMetadata {
  readonly kmsRequestId: string
  readonly kmsOperation: string
  readonly awsPrincipalArn?: string
  readonly kmsKeyArn?: string
}

/** GetKeyMetadata's answer. */
export interface XksKeyMetadata {
  readonly keySpec: string
  readonly keyUsage: readonly string[]
  readonly keyStatus: string
}

/** GetHealthStatus's answer. */
export interface XksHealth {
  readonly xksProxyFleetSize: number
  readonly xksProxyVendor: string
  readonly xksProxyModel: string
  readonly ekmVendor: string
  readonly ekmFleetDetails: ReadonlyArray<{ id: string; model: string; healthStatus: string }>
}

/** What the proxy's Encrypt returned, decoded and checked. */
export interface XksSealed {
  readonly ciphertext: Buffer
  readonly iv: Buffer
  readonly tag: Buffer
  readonly ciphertextMetadata?: Buffer
}

/** AWS KMS's deadline for a call to an XKS proxy (XKS spec, "Latency"). */
export const DEFAULT_XKS_TIMEOUT_MS = 250
/** Answers larger than this are not XKS answers (a 4300-byte ciphertext is ~6 KB of JSON). */
const MAX_RESPONSE_BYTES = 64 * 1024
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const HEALTH_STATES = new Set(['ACTIVE', 'DEGRADED', 'UNAVAILABLE'])

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
])

/** Whether a socket error is a TLS failure (Node's error codes for certificate problems). */
function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? ''
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code === 'EPROTO' ||
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|LEAF_SIGNATURE/.test(code)
  )
}

/** Decodes strict standard Base64 (RFC 4648 §4), or undefined. */
function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !BASE64.test(value)) return undefined
  return Buffer.from(value, 'base64')
}

const invalid = (why: string) => new XksProxyError({ kind: 'invalid-response' }, why)

/**
 * The Base64 field `name` of `body`, decoded, with its length in `lengths` (bytes) when given.
 *
 * @throws XksProxyError invalid-response
 */
function bytesField(
  body: Record<string, unknown>,
  name: string,
  lengths?: { min: number; max: number },
): Buffer {
  const bytes = decodeBase64(body[name])
  if (!bytes) throw invalid(`the answer's ${name} is missing or not Base64`)
  if (lengths && (bytes.length < lengths.min || bytes.length > lengths.max)) {
    throw invalid(`the answer's ${name} is ${bytes.length} bytes`)
  }
  return bytes
}

/**
 * ciphertextDataIntegrityValue: SHA-256 over AAD ‖ CM ‖ IV ‖ ciphertext ‖ tag, absent fields
 * empty, no lengths (XKS spec, "Encrypt"; xks.md §1.4 has the spec's test vector).
 */
export function ciphertextDataIntegrityValue(parts: {
  aad: Buffer
  ciphertextMetadata?: Buffer | undefined
  iv: Buffer
  ciphertext: Buffer
  tag: Buffer
}): Buffer {
  return createHash('sha256')
    .update(parts.aad)
    .update(parts.ciphertextMetadata ?? Buffer.alloc(0))
    .update(parts.iv)
    .update(parts.ciphertext)
    .update(parts.tag)
    .digest()
}

/**
 * One external key store's proxy. Connections are kept alive in the client's own agent, so
 * only the first call pays for the TLS handshake; close() drops them.
 *
 * @example
 *   const proxy = new XksProxyClient(target, { timeoutMs: 250 })
 *   await proxy.health({ kmsRequestId, kmsOperation: 'ConnectCustomKeyStore' })
 */
export class XksProxyClient {
  readonly #target: XksProxyTarget
  readonly #url: URL
  readonly #agent: Agent
  readonly #timeoutMs: number
  readonly #now: () => number
  readonly #observe: XksClientSettings['observe']

  constructor(target: XksProxyTarget, settings: XksClientSettings, now = Date.now) {
    this.#target = target
    this.#observe = settings.observe
    this.#url = new URL(target.uriEndpoint)
    this.#timeoutMs = settings.timeoutMs ?? DEFAULT_XKS_TIMEOUT_MS
    this.#now = now
    // TLS 1.2 or later (XKS spec, "TLS"); the certificate must match the endpoint's host.
    this.#agent = new Agent({
      keepAlive: true,
      minVersion: 'TLSv1.2',
      ...(settings.caCertificates ? { ca: settings.caCertificates } : {}),
      ...(settings.clientCertificate
        ? { cert: settings.clientCertificate.cert, key: settings.clientCertificate.key }
        : {}),
    })
  }

  /** GetHealthStatus; every EKM UNAVAILABLE is reported as unreachable, as AWS KMS does. */
  async health(metadata: XksRequestMetadata): Promise<XksHealth> {
    const body = await this.#call('/health', { requestMetadata: metadata })
    const fleet = body.ekmFleetDetails
    const size = body.xksProxyFleetSize
    if (
      !Number.isInteger(size) ||
      (size as number) < 1 ||
      !['xksProxyVendor', 'xksProxyModel', 'ekmVendor'].every((f) => typeof body[f] === 'string') ||
      !Array.isArray(fleet) ||
      fleet.length < 1 ||
      fleet.length > 10 ||
      !fleet.every(
        (e: Record<string, unknown>) =>
          typeof e?.id === 'string' &&
          typeof e.model === 'string' &&
          HEALTH_STATES.has(e.healthStatus as string),
      )
    ) {
      throw invalid('the health answer does not have the fields the XKS API defines')
    }
    const health = body as unknown as XksHealth
    if (health.ekmFleetDetails.every((e) => e.healthStatus === 'UNAVAILABLE')) {
      throw new XksProxyError({ kind: 'unreachable' }, 'every external key manager is UNAVAILABLE')
    }
    return health
  }

  /** GetKeyMetadata of an external key. */
  async keyMetadata(externalKeyId: string, metadata: XksRequestMetadata): Promise<XksKeyMetadata> {
    const body = await this.#call(`/keys/${externalKeyId}/metadata`, { requestMetadata: metadata })
    const usage = body.keyUsage
    if (
      typeof body.keySpec !== 'string' ||
      typeof body.keyStatus !== 'string' ||
      !Array.isArray(usage) ||
      usage.length > 10 ||
      !usage.every((u) => typeof u === 'string')
    ) {
      throw invalid('the key metadata answer does not have the fields the XKS API defines')
    }
    return { keySpec: body.keySpec, keyUsage: usage as string[], keyStatus: body.keyStatus }
  }

  /**
   * Encrypt under an external key with AES_GCM, asking for the SHA_256 integrity value and
   * checking it (and every size) before the answer is used.
   */
  async encrypt(
    externalKeyId: string,
    request: { plaintext: Buffer; aad: Buffer; metadata: XksRequestMetadata },
  ): Promise<XksSealed> {
    const body = await this.#call(`/keys/${externalKeyId}/encrypt`, {
      requestMetadata: request.metadata,
      plaintext: request.plaintext.toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
      additionalAuthenticatedData: request.aad.toString('base64'),
      ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
    })
    const ciphertext = bytesField(body, 'ciphertext')
    // AES-GCM: the ciphertext is as long as the plaintext; IV 12 or 16 bytes; tag 16 bytes;
    // ciphertextMetadata at most 20 bytes (XKS spec, "Encrypt").
    if (ciphertext.length !== request.plaintext.length) {
      throw invalid('the ciphertext is not as long as the plaintext')
    }
    const iv = bytesField(body, 'initializationVector', { min: 12, max: 16 })
    if (iv.length !== 12 && iv.length !== 16) throw invalid(`the IV is ${iv.length} bytes`)
    const tag = bytesField(body, 'authenticationTag', { min: 16, max: 16 })
    const ciphertextMetadata =
      body.ciphertextMetadata === undefined
        ? undefined
        : bytesField(body, 'ciphertextMetadata', { min: 0, max: 20 })
    const integrity = bytesField(body, 'ciphertextDataIntegrityValue', { min: 32, max: 32 })
    const expected = ciphertextDataIntegrityValue({
      aad: request.aad,
      ciphertextMetadata,
      iv,
      ciphertext,
      tag,
    })
    if (!expected.equals(integrity)) throw invalid('the ciphertextDataIntegrityValue is wrong')
    return { ciphertext, iv, tag, ...(ciphertextMetadata ? { ciphertextMetadata } : {}) }
  }

  /** Decrypt under an external key; the plaintext must be as long as the ciphertext. */
  async decrypt(
    externalKeyId: string,
    request: XksSealed & { aad: Buffer; metadata: XksRequestMetadata },
  ): Promise<Buffer> {
    const body = await this.#call(`/keys/${externalKeyId}/decrypt`, {
      requestMetadata: request.metadata,
      ciphertext: request.ciphertext.toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
      initializationVector: request.iv.toString('base64'),
      authenticationTag: request.tag.toString('base64'),
      additionalAuthenticatedData: request.aad.toString('base64'),
      ...(request.ciphertextMetadata
        ? { ciphertextMetadata: request.ciphertextMetadata.toString('base64') }
        : {}),
    })
    const plaintext = bytesField(body, 'plaintext')
    if (plaintext.length !== request.ciphertext.length) {
      throw invalid('the plaintext is not as long as the ciphertext')
    }
    return plaintext
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy()
  }

  /** One signed POST, retried once when a kept-alive connection turns out to be closed. */
  async #call(route: string, payload: object): Promise<Record<string, unknown>> {
    if (!this.#observe) return this.#callOnce(route, payload)
    const started = performance.now()
    // The metric's label is the API route, not the key: one series per route, not per key.
    const api = route.replace(/^\/keys\/[^/]+\//, '/keys/{keyId}/')
    try {
      const answer = await this.#callOnce(route, payload)
      this.#observe({ route: api, seconds: (performance.now() - started) / 1000 })
      return answer
    } catch (error) {
      const failure = error instanceof XksProxyError ? failureName(error.failure) : 'internal'
      this.#observe({ route: api, seconds: (performance.now() - started) / 1000, failure })
      throw error
    }
  }

  async #callOnce(route: string, payload: object): Promise<Record<string, unknown>> {
    const body = Buffer.from(JSON.stringify(payload))
    const deadline = this.#now() + this.#timeoutMs
    try {
      return await this.#post(route, body, deadline)
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error
      return this.#post(route, body, deadline)
    }
  }

  #post(route: string, body: Buffer, deadline: number): Promise<Record<string, unknown>> {
    const path = `${this.#target.uriPath}${route}`
    const headers: Record<string, string> = {
      host: this.#url.host,
      'content-type': 'application/json',
      'content-length': String(body.length),
    }
    Object.assign(
      headers,
      signSigV4(
        { method: 'POST', url: path, headers, body },
        {
          accessKeyId: this.#target.accessKeyId,
          secretAccessKey: this.#target.secretAccessKey,
          region: this.#target.region,
          service: 'kms-xks-proxy',
          now: this.#now(),
        },
      ),
    )
    const options: RequestOptions = {
      method: 'POST',
      hostname: this.#url.hostname,
      port: this.#url.port || 443,
      path,
      headers,
      agent: this.#agent,
    }
    return new Promise((resolve, reject) => {
      let timedOut: XksProxyError | undefined
      const req = httpsRequest(options, (res) => {
        readAnswer(res).then(
          (answer) => {
            clearTimeout(timer)
            resolve(answer)
          },
          (error: unknown) => {
            clearTimeout(timer)
            reject(timedOut ?? (error instanceof XksProxyError ? error : invalid(String(error))))
          },
        )
      })
      const timer = setTimeout(
        () => {
          timedOut = new XksProxyError(
            { kind: 'timeout' },
            `no answer within ${this.#timeoutMs} ms from ${this.#url.host}`,
          )
          req.destroy(timedOut)
        },
        Math.max(0, deadline - this.#now()),
      )
      req.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        if (timedOut) return reject(timedOut)
        if (req.reusedSocket && error.code === 'ECONNRESET') {
          return reject(new StaleSocketError())
        }
        reject(classifySocketError(error, this.#url.host))
      })
      req.end(body)
    })
  }
}

/** A kept-alive connection the proxy had closed: the call is made again on a new one. */
class StaleSocketError extends Error {}

function classifySocketError(error: NodeJS.ErrnoException, host: string): XksProxyError {
  if (isTlsError(error)) {
    return new XksProxyError({ kind: 'tls' }, `TLS with ${host} failed: ${error.code}`, {
      cause: error,
    })
  }
  if (CONNECTION_ERRORS.has(error.code ?? '')) {
    return new XksProxyError({ kind: 'unreachable' }, `cannot reach ${host}: ${error.code}`, {
      cause: error,
    })
  }
  return new XksProxyError({ kind: 'unreachable' }, `call to ${host} failed: ${error.message}`, {
    cause: error,
  })
}

/** Reads and checks one answer: a JSON object, as an XKS answer or an XKS error. */
async function readAnswer(res: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_RESPONSE_BYTES) throw invalid('the answer is too large')
    chunks.push(chunk)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw invalid(`HTTP ${res.statusCode} with a body that is not JSON`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(`HTTP ${res.statusCode} with a body that is not a JSON object`)
  }
  const body = parsed as Record<string, unknown>
  if (res.statusCode === 200) return body
  const errorName = body.errorName
  if (!XKS_ERROR_NAMES.includes(errorName as XksErrorName)) {
    throw invalid(`HTTP ${res.statusCode} without a known XKS errorName`)
  }
  const detail = typeof body.errorMessage === 'string' ? `: ${body.errorMessage.slice(0, 512)}` : ''
  throw new XksProxyError(
    { kind: 'proxy', errorName: errorName as XksErrorName, status: res.statusCode ?? 0 },
    `the proxy answered HTTP ${res.statusCode} ${String(errorName)}${detail}`,
  )
}
