import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readQuotaConfig } from '../../src/config/quotas.js'
import { DEFAULT_RESOURCE_QUOTAS } from '../../src/domain/quotas.js'

describe('the "quotas" section of the principals file', () => {
  const path = '/etc/keyward/principals.json'

  it('is optional, and fills what it does not say with AWS defaults', () => {
    assert.equal(readQuotaConfig(undefined, path), undefined)
    assert.deepEqual(readQuotaConfig({}, path), {
      resources: DEFAULT_RESOURCE_QUOTAS,
      requestRates: { overrides: {} },
    })
    assert.deepEqual(
      readQuotaConfig(
        { keys: 3, requestsPerSecond: { CreateKey: 50, CryptographicOperationsSymmetric: 0.5 } },
        path,
      ),
      {
        resources: { ...DEFAULT_RESOURCE_QUOTAS, keys: 3 },
        requestRates: { overrides: { CreateKey: 50, CryptographicOperationsSymmetric: 0.5 } },
      },
    )
    assert.deepEqual(readQuotaConfig({ requestRates: false, aliasesPerKey: 0 }, path), {
      resources: { ...DEFAULT_RESOURCE_QUOTAS, aliasesPerKey: 0 },
      requestRates: false,
    })
  })

  it('refuses what it cannot mean', () => {
    const ROWS: Array<[unknown, string]> = [
      [[], 'must be an object'],
      [{ key: 3 }, 'unknown member "key"'],
      [{ keys: -1 }, '"keys" must be a whole number, 0 or more'],
      [{ customKeyStores: 1.5 }, '"customKeyStores" must be a whole number, 0 or more'],
      [{ requestRates: 'off' }, '"requestRates" must be true or false'],
      [{ requestsPerSecond: [] }, '"requestsPerSecond" must be an object'],
      [
        { requestsPerSecond: { CreateKeys: 5 } },
        'requestsPerSecond: no request quota is named "CreateKeys"',
      ],
      [
        { requestsPerSecond: { CreateKey: 0 } },
        'requestsPerSecond "CreateKey" must be a number above 0',
      ],
    ]
    for (const [section, why] of ROWS) {
      assert.throws(() => readQuotaConfig(section, path), { message: `${path}: quotas: ${why}` })
    }
  })
})
