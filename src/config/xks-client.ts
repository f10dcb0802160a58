import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { XksClientSettings } from '../adapters/xks/xks-proxy-client.js'

/**
 * How Keyward reaches external key store proxies, declared in the principals file under
 * "xksClient" (every member optional):
 *
 *   "xksClient": {
 *     "caCertificatesFile": "/etc/keyward/xks-ca.pem",
 *     "timeoutMs": 250,
 *     "clientCertificateFile": "/etc/keyward/xks-client.crt",
 *     "clientKeyFile": "/etc/keyward/xks-client.key",
 *     "healthCheckIntervalSeconds": 60
 *   }
 *
 * Without a CA file Node's bundled public roots are trusted, as AWS KMS trusts public CAs.
 * 250 ms is AWS KMS's own deadline per call (XKS spec, "Latency"). The client certificate is
 * for proxies that require mutual TLS (AWS KMS presents CN=cks.kms.<region>.amazonaws.com).
 * Relative paths are relative to the principals file.
 */
export interface XksClientConfig extends XksClientSettings {
  readonly healthCheckIntervalMs?: number
}

interface XksClientEntry {
  readonly caCertificatesFile?: unknown
  readonly timeoutMs?: unknown
  readonly clientCertificateFile?: unknown
  readonly clientKeyFile?: unknown
  readonly healthCheckIntervalSeconds?: unknown
}

const MEMBERS = new Set([
  'caCertificatesFile',
  'timeoutMs',
  'clientCertificateFile',
  'clientKeyFile',
  'healthCheckIntervalSeconds',
])

/**
 * Checks the "xksClient" section of a config file and reads the files it names.
 *
 * @throws Error naming the file and the faulty member
 * @example
 *   const xks = readXksClientConfig(file.xksClient, '/etc/keyward/principals.json')
 */
export function readXksClientConfig(entry: unknown, path: string): XksClientConfig | undefined {
  if (entry === undefined) return undefined
  const bad = (why: string) => new Error(`${path}: "xksClient": ${why}`)
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw bad('must be an object')
  }
  const unknown = Object.keys(entry).find((k) => !MEMBERS.has(k))
  if (unknown) throw bad(`unknown member "${unknown}"`)
  const e = entry as XksClientEntry
  const file = (name: keyof XksClientEntry): string | undefined => {
    const value = e[name]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value === '') throw bad(`"${name}" must be a file path`)
    try {
      return readFileSync(resolve(dirname(path), value), 'utf8')
    } catch (error) {
      throw bad(`cannot read "${name}" ${value}: ${(error as Error).message}`)
    }
  }
  const positive = (name: keyof XksClientEntry, max: number): number | undefined => {
    const value = e[name]
    if (value === undefined) return undefined
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) {
      throw bad(`"${name}" must be an integer from 1 to ${max}`)
    }
    return value as number
  }
  const cert = file('clientCertificateFile')
  const key = file('clientKeyFile')
  if ((cert === undefined) !== (key === undefined)) {
    throw bad('"clientCertificateFile" and "clientKeyFile" go together')
  }
  const ca = file('caCertificatesFile')
  const timeoutMs = positive('timeoutMs', 60_000)
  const interval = positive('healthCheckIntervalSeconds', 86_400)
  return {
    ...(ca !== undefined ? { caCertificates: ca } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(cert !== undefined && key !== undefined ? { clientCertificate: { cert, key } } : {}),
    ...(interval !== undefined ? { healthCheckIntervalMs: interval * 1000 } : {}),
  }
}
