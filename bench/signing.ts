import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

/** An access key the benchmark's Keyward knows (passed as KEYWARD_ROOT_ACCESS_KEY_ID/…SECRET…). */
export interface BenchCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

/** What every bench part that starts its own Keyward processes is run with (bench/run.ts). */
export interface BenchPartOptions {
  readonly env: () => NodeJS.ProcessEnv
  readonly keywardBin: string
  readonly credentials: BenchCredentials
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: number
}

/** One KMS call: where it goes, which operation, the JSON body. */
export interface KmsCall {
  readonly endpoint: string
  readonly target: string
  readonly body: string
  readonly credentials: BenchCredentials
  readonly region?: string
}

/**
 * How long one signature is replayed before the load generator signs again. Keyward, like AWS,
 * accepts an X-Amz-Date up to 5 minutes old (src/sigv4/sigv4.ts, MAX_CLOCK_SKEW_MS).
 */
export const RESIGN_EVERY_MS = 2 * 60 * 1000

/**
 * SigV4 headers (host, content-type, x-amz-target, x-amz-date, x-amz-content-sha256,
 * authorization) for `call`, signed by @smithy/signature-v4 as the AWS SDK signs.
 *
 * @example
 *   const headers = await signKmsCall({ endpoint, target: 'TrentService.Encrypt', body, credentials })
 */
export async function signKmsCall(
  call: KmsCall,
  options: { signingDate?: Date } = {},
): Promise<Record<string, string>> {
  const url = new URL(call.endpoint)
  const signer = new SignatureV4({
    service: 'kms',
    region: call.region ?? 'us-east-1',
    credentials: call.credentials,
    sha256: Sha256,
  })
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': call.target,
      },
      body: call.body,
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  )
  return signed.headers as Record<string, string>
}

/**
 * Sends one signed call with fetch and returns the parsed answer; throws with the AWS error
 * name when the status is not 200. Used for set-up and for checking each scenario's answer.
 *
 * @example
 *   const { KeyMetadata } = await callKms({ endpoint, target: 'TrentService.CreateKey', body: '{}', credentials })
 */
export async function callKms(call: KmsCall): Promise<Record<string, unknown>> {
  const { host: _host, ...headers } = await signKmsCall(call)
  const response = await fetch(call.endpoint + '/', { method: 'POST', headers, body: call.body })
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`${call.target} answered ${response.status}: ${text}`)
  }
  return JSON.parse(text) as Record<string, unknown>
}
