import {
  DEFAULT_RESOURCE_QUOTAS,
  isRequestQuotaName,
  type RequestRateSettings,
  type ResourceQuotas,
} from '../domain/quotas.js'

/**
 * The optional `quotas` section of the principals file: AWS's resource and request quotas, to
 * raise (as AWS's quota increases do) or lower. Every member is optional:
 *
 *   "quotas": {
 *     "keys": 100000,
 *     "aliasesPerKey": 50,
 *     "customKeyStores": 10,
 *     "grantsPerKey": 50000,
 *     "requestRates": true,
 *     "requestsPerSecond": { "CreateKey": 20, "CryptographicOperationsSymmetric": 50000 }
 *   }
 *
 * `requestRates: false` turns the request quotas off (they are always off in `--dev`).
 * `requestsPerSecond` names quotas as src/domain/quotas.ts does: an operation name for the
 * management operations, `CryptographicOperationsSymmetric`, `CryptographicOperationsAsymmetric`,
 * `GenerateDataKeyPair:<KeyPairSpec>`.
 */
export interface QuotaConfig {
  readonly resources: ResourceQuotas
  /** The request quotas' settings, or false when they are off. */
  readonly requestRates: RequestRateSettings | false
}

/** The quotas when the section is absent: AWS's defaults, request quotas on. */
export const DEFAULT_QUOTA_CONFIG: QuotaConfig = {
  resources: DEFAULT_RESOURCE_QUOTAS,
  requestRates: {},
}

const RESOURCE_NAMES = ['keys', 'aliasesPerKey', 'customKeyStores', 'grantsPerKey'] as const

/**
 * Reads and checks the `quotas` section (undefined when absent).
 *
 * @example
 *   const quotas = readQuotaConfig(file.quotas, path) ?? DEFAULT_QUOTA_CONFIG
 */
export function readQuotaConfig(raw: unknown, path: string): QuotaConfig | undefined {
  if (raw === undefined) return undefined
  const bad = (why: string) => new Error(`${path}: quotas: ${why}`)
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('must be an object')
  const section = raw as Record<string, unknown>
  for (const name of Object.keys(section)) {
    if (![...RESOURCE_NAMES, 'requestRates', 'requestsPerSecond'].includes(name)) {
      throw bad(`unknown member "${name}"`)
    }
  }
  const resources: Record<string, number> = { ...DEFAULT_RESOURCE_QUOTAS }
  for (const name of RESOURCE_NAMES) {
    const value = section[name]
    if (value === undefined) continue
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw bad(`"${name}" must be a whole number, 0 or more`)
    }
    resources[name] = value as number
  }
  if (section.requestRates !== undefined && typeof section.requestRates !== 'boolean') {
    throw bad('"requestRates" must be true or false')
  }
  const overrides = readRates(section.requestsPerSecond, bad)
  return {
    resources: resources as unknown as ResourceQuotas,
    requestRates: section.requestRates === false ? false : { overrides },
  }
}

function readRates(raw: unknown, bad: (why: string) => Error): Record<string, number> {
  if (raw === undefined) return {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad('"requestsPerSecond" must be an object')
  }
  const rates: Record<string, number> = {}
  for (const [name, value] of Object.entries(raw)) {
    if (!isRequestQuotaName(name))
      throw bad(`requestsPerSecond: no request quota is named "${name}"`)
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      throw bad(`requestsPerSecond "${name}" must be a number above 0`)
    }
    rates[name] = value
  }
  return rates
}
