import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { readXksClientConfig } from '../../src/config/xks-client.js'

describe('the "xksClient" section of the principals file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-xks-config-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'principals.json')
  writeFileSync(join(dir, 'ca.pem'), 'CA PEM')
  writeFileSync(join(dir, 'client.crt'), 'CERT PEM')
  writeFileSync(join(dir, 'client.key'), 'KEY PEM')

  it('reads the files it names, relative to the principals file', () => {
    assert.equal(readXksClientConfig(undefined, path), undefined)
    assert.deepEqual(
      readXksClientConfig(
        {
          caCertificatesFile: 'ca.pem',
          timeoutMs: 500,
          clientCertificateFile: 'client.crt',
          clientKeyFile: join(dir, 'client.key'),
          healthCheckIntervalSeconds: 30,
        },
        path,
      ),
      {
        caCertificates: 'CA PEM',
        timeoutMs: 500,
        clientCertificate: { cert: 'CERT PEM', key: 'KEY PEM' },
        healthCheckIntervalMs: 30_000,
      },
    )
  })

  it('refuses unknown members, bad numbers, missing files and a certificate without its key', () => {
    const refuse = (entry: unknown, message: RegExp) =>
      assert.throws(() => readXksClientConfig(entry, path), message)
    refuse([], /"xksClient": must be an object/)
    refuse({ timeout: 5 }, /unknown member "timeout"/)
    refuse({ timeoutMs: 0 }, /"timeoutMs" must be an integer from 1 to 60000/)
    refuse({ timeoutMs: 2.5 }, /"timeoutMs" must be an integer/)
    refuse({ caCertificatesFile: 'missing.pem' }, /cannot read "caCertificatesFile" missing\.pem/)
    refuse({ clientCertificateFile: 'client.crt' }, /go together/)
  })
})
