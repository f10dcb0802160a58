import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { readPrincipals } from '../../src/config/principals.js'

describe('principals file: cloudHsmClusters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-clusters-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  const read = (cloudHsmClusters: unknown) => {
    const path = join(dir, `p${n++}.json`)
    writeFileSync(path, JSON.stringify({ accounts: [], cloudHsmClusters }))
    return readPrincipals(path)
  }

  it('reads HSM connections by cluster id', () => {
    const p = read([
      {
        id: 'cluster-kaxbycdefgh',
        modulePath: '/usr/lib/softhsm/libsofthsm2.so',
        tokenLabel: 'kms',
      },
      {
        id: 'cluster-abcdefghijk',
        modulePath: '/opt/hsm.so',
        tokenSerial: '1234',
        trustAnchorCertificate: 'PEM',
        callMode: 'sync',
      },
    ])
    assert.deepEqual(p.cloudHsmClusters?.get('cluster-kaxbycdefgh'), {
      id: 'cluster-kaxbycdefgh',
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'kms',
    })
    assert.equal(p.cloudHsmClusters?.get('cluster-abcdefghijk')?.tokenSerial, '1234')
    assert.equal(p.cloudHsmClusters?.get('cluster-abcdefghijk')?.callMode, 'sync')
    assert.equal(read(undefined).cloudHsmClusters, undefined)
  })

  it('refuses malformed entries, naming the file and the entry', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /"cloudHsmClusters" must be a list$/],
      [
        [{ id: 'cluster-0bad', modulePath: '/m', tokenLabel: 't' }],
        /cluster id cluster-0bad does not match/,
      ],
      [
        [{ id: 'cluster-abcdefghijk', tokenLabel: 't' }],
        /cluster cluster-abcdefghijk has no "modulePath"$/,
      ],
      [
        [{ id: 'cluster-abcdefghijk', modulePath: '/m' }],
        /needs exactly one of "tokenLabel" and "tokenSerial"$/,
      ],
      [
        [{ id: 'cluster-abcdefghijk', modulePath: '/m', tokenLabel: 't', tokenSerial: 's' }],
        /needs exactly one of "tokenLabel" and "tokenSerial"$/,
      ],
      [
        [
          { id: 'cluster-abcdefghijk', modulePath: '/m', tokenLabel: 't' },
          { id: 'cluster-abcdefghijk', modulePath: '/m', tokenLabel: 'u' },
        ],
        /cluster cluster-abcdefghijk is listed twice$/,
      ],
      [
        [{ id: 'cluster-abcdefghijk', modulePath: '/m', tokenLabel: 't', callMode: 'blocking' }],
        /cluster cluster-abcdefghijk has "callMode" blocking; use "async" or "sync"$/,
      ],
    ]
    for (const [list, message] of cases) {
      assert.throws(
        () => read(list),
        (e: Error) => e.message.startsWith(dir) && message.test(e.message),
      )
    }
  })
})
