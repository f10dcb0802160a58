import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

/**
 * The SigV4 check of the benchmark's baseline in `--sigv4` mode: what a careful server does
 * for every request and nothing more (AWS General Reference, "Create a signed AWS API
 * request"): parse the Authorization header, check the access key, the 5-minute clock window,
 * the credential scope (day, service, terminator) and that `host` is signed; hash the body and
 * compare it with x-amz-content-sha256; build the canonical request from the signed headers;
 * HMAC the string to sign with the signing key, derived once per day and scope; compare in
 * constant time. Written independently of src/sigv4/sigv4.ts, so it measures the work, not
 * Keyward's code.
 */

const ALGORITHM = 'AWS4-HMAC-SHA256'
const MAX_SKEW_MS = 5 * 60 * 1000
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

/** The one credential the baseline accepts. */
export interface BaselineCredential {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest()

/**
 * Returns a verifier for `credential` and `service`: true when the request is signed by it,
 * now, for that service. The signing key is cached per day and Region, as the SDKs and AWS do.
 *
 * @example
 *   const verify = sigV4Verifier({ accessKeyId, secretAccessKey }, 'kms')
 *   if (!verify({ method: 'POST', url: '/', headers: req.headers, body }, Date.now())) deny()
 */
export function sigV4Verifier(credential: BaselineCredential, service: string) {
  const signingKeys = new Map<string, Buffer>()
  const signingKey = (day: string, region: string) => {
    const id = `${day}/${region}`
    let key = signingKeys.get(id)
    if (!key) {
      const kDate = hmac(`AWS4${credential.secretAccessKey}`, day)
      key = hmac(hmac(hmac(kDate, region), service), 'aws4_request')
      signingKeys.set(id, key)
    }
    return key
  }
  return (
    req: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
    now: number,
  ): boolean => {
    const auth = AUTHORIZATION.exec(String(req.headers.authorization ?? ''))
    const date = String(req.headers['x-amz-date'] ?? '')
    const d = AMZ_DATE.exec(date)
    // The baseline serves one path with no query, whose canonical URI is itself.
    if (!auth || !d || req.url !== '/' || auth[1] !== credential.accessKeyId) return false
    const [, , day, region, scopeService, signedHeaders, signature] = auth as unknown as string[]
    const ms = Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!)
    if (Math.abs(ms - now) > MAX_SKEW_MS || day !== date.slice(0, 8)) return false
    if (scopeService !== service) return false
    const names = signedHeaders!.split(';')
    if (!names.includes('host')) return false
    const bodyHash = createHash('sha256').update(req.body).digest('hex')
    const declared = req.headers['x-amz-content-sha256']
    if (declared !== undefined && declared !== bodyHash) return false
    let canonical = `${req.method}\n${req.url}\n\n`
    for (const name of names) {
      const value = req.headers[name]
      const text = (Array.isArray(value) ? value.join(',') : (value ?? '')).trim()
      canonical += `${name}:${/\s{2,}/.test(text) ? text.replace(/\s+/g, ' ') : text}\n`
    }
    canonical += `\n${signedHeaders}\n${bodyHash}`
    const toSign = `${ALGORITHM}\n${date}\n${day}/${region}/${service}/aws4_request\n${createHash('sha256').update(canonical).digest('hex')}`
    const expected = createHmac('sha256', signingKey(day!, region!)).update(toSign).digest()
    return timingSafeEqual(expected, Buffer.from(signature!, 'hex'))
  }
}
