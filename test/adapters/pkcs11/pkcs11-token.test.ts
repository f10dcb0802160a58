import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import pkcs11js from 'pkcs11js'
import { HsmConnectionError } from '../../../src/adapters/pkcs11/hsm-errors.js'
import { loadModule } from '../../../src/adapters/pkcs11/pkcs11-module.js'
import { HsmKeyNotFoundError, Pkcs11Token } from '../../../src/adapters/pkcs11/pkcs11-token.js'
import {
  SOFTHSM_MISSING,
  SOFTHSM_MODULE,
  startSoftHsm,
  type SoftHsm,
} from '../../support/softhsm.js'

const PIN = '1234567'

async function expectConnectionError(promise: Promise<unknown>, code: string, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HsmConnectionError, String(error))
    assert.equal(error.code, code)
    assert.match(error.message, pattern)
    assert.ok(!error.message.includes(PIN), 'the PIN must not appear in messages')
    return true
  })
}

/** How many key lookups (C_FindObjectsInit) `fn` makes through the module at `modulePath`. */
async function countLookups(modulePath: string, fn: () => Promise<unknown>): Promise<number> {
  const api = loadModule(modulePath).api
  const original = api.C_FindObjectsInit
  let count = 0
  api.C_FindObjectsInit = (...args: Parameters<typeof original>) => {
    count++
    return original.apply(api, args)
  }
  try {
    await fn()
  } finally {
    api.C_FindObjectsInit = original
  }
  return count
}

/**
 * Destroys the key labelled `label` from another process (another PKCS#11 application), as an
 * operator's tool would, behind the back of this process's sessions and handles.
 */
function destroyFromAnotherProcess(options: { tokenLabel: string; label: string }): void {
  const script = `
    const pkcs11js = require(${JSON.stringify(createRequire(import.meta.url).resolve('pkcs11js'))})
    const [modulePath, tokenLabel, pin, label] = process.argv.slice(1)
    const api = new pkcs11js.PKCS11()
    api.load(modulePath)
    api.C_Initialize()
    const slot = api.C_GetSlotList(true).find((s) => api.C_GetTokenInfo(s).label.trim() === tokenLabel)
    const session = api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
    api.C_Login(session, pkcs11js.CKU_USER, pin)
    api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }])
    const key = api.C_FindObjects(session)
    api.C_FindObjectsFinal(session)
    if (!key) throw new Error('no key ' + label)
    api.C_DestroyObject(session, key)
    api.C_Finalize()`
  execFileSync(
    process.execPath,
    ['-e', script, SOFTHSM_MODULE, options.tokenLabel, PIN, options.label],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
}

describe('Pkcs11Token (SoftHSMv2)', { skip: SOFTHSM_MISSING }, () => {
  let hsm: SoftHsm
  let serial: string
  let token: Pkcs11Token
  before(async () => {
    hsm = startSoftHsm()
    serial = hsm.initToken({ label: 'adapter-test', pin: PIN })
    // SoftHSM lists the tokens that exist at C_Initialize: make them all first.
    hsm.initToken({ label: 'adapter-idle', pin: PIN })
    token = await Pkcs11Token.open({
      modulePath: hsm.modulePath,
      tokenLabel: 'adapter-test',
      pin: PIN,
    })
  })
  after(async () => {
    await token?.close()
    hsm?.cleanup()
  })

  it('finds the token by serial number as well as by label', async () => {
    const bySerial = await Pkcs11Token.open({
      modulePath: hsm.modulePath,
      tokenSerial: serial,
      pin: PIN,
    })
    assert.equal((await bySerial.random(32)).length, 32)
    await bySerial.close()
  })

  it('maps a wrong PIN to INVALID_CREDENTIALS without echoing it', async () => {
    // A token nobody is logged into: the token itself refuses the PIN.
    await expectConnectionError(
      Pkcs11Token.open({ modulePath: hsm.modulePath, tokenLabel: 'adapter-idle', pin: '7654321' }),
      'INVALID_CREDENTIALS',
      /^Login to token with label adapter-idle in .* failed \(CKR_PIN_INCORRECT\)\.$/,
    )
    // A token this process is logged into already (the login is shared): checked by Keyward.
    await expectConnectionError(
      Pkcs11Token.open({ modulePath: hsm.modulePath, tokenLabel: 'adapter-test', pin: '7654321' }),
      'INVALID_CREDENTIALS',
      /^Login to token with label adapter-test in .* failed \(CKR_PIN_INCORRECT\)\.$/,
    )
  })

  it('maps a missing module or token to CLUSTER_NOT_FOUND', async () => {
    await expectConnectionError(
      Pkcs11Token.open({ modulePath: '/nonexistent/libpkcs11.so', tokenLabel: 'x', pin: PIN }),
      'CLUSTER_NOT_FOUND',
      /^PKCS#11 module \/nonexistent\/libpkcs11.so does not exist\.$/,
    )
    await expectConnectionError(
      Pkcs11Token.open({ modulePath: '/etc/hostname', tokenLabel: 'x', pin: PIN }),
      'CLUSTER_NOT_FOUND',
      /^PKCS#11 module \/etc\/hostname could not be loaded\.$/,
    )
    await expectConnectionError(
      Pkcs11Token.open({ modulePath: hsm.modulePath, tokenLabel: 'no-such-token', pin: PIN }),
      'CLUSTER_NOT_FOUND',
      /^No token with label no-such-token in /,
    )
  })

  it('seals and opens with AES-GCM inside the token, binding the AAD', async () => {
    await token.generateAesKey({ label: 'key-gcm', id: 'key-gcm' })
    const iv = await token.random(12)
    const aad = Buffer.from('header and context')
    const data = Buffer.from('attack at dawn')
    const sealed = await token.encryptGcm({ label: 'key-gcm', iv, aad, data })
    assert.equal(sealed.length, data.length + 16)
    assert.deepEqual(await token.decryptGcm({ label: 'key-gcm', iv, aad, data: sealed }), data)
    await assert.rejects(
      token.decryptGcm({ label: 'key-gcm', iv, aad: Buffer.from('other'), data: sealed }),
      /CKR_/,
    )
    await assert.rejects(
      token.encryptGcm({ label: 'no-such-key', iv, aad, data }),
      HsmKeyNotFoundError,
    )
  })

  it('makes keys whose value cannot be read (sensitive, never extractable)', async () => {
    await token.generateAesKey({ label: 'key-secret', id: 'key-secret' })
    await token.withSession((session, api) => {
      api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'key-secret' }])
      const key = api.C_FindObjects(session)
      api.C_FindObjectsFinal(session)
      assert.ok(key)
      assert.throws(
        () => api.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]),
        /CKR_ATTRIBUTE_SENSITIVE/,
      )
      const [extractable, sensitive] = api.C_GetAttributeValue(session, key, [
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_SENSITIVE },
      ])
      assert.deepEqual(extractable?.value, Buffer.from([0]))
      assert.deepEqual(sensitive?.value, Buffer.from([1]))
    })
  })

  it('destroys a key object', async () => {
    await token.generateAesKey({ label: 'key-doomed', id: 'key-doomed' })
    assert.equal(await token.hasKey('key-doomed'), true)
    assert.equal(await token.destroyKey('key-doomed'), true)
    assert.equal(await token.hasKey('key-doomed'), false)
    assert.equal(await token.destroyKey('key-doomed'), false)
  })

  it('recovers by itself when the module is finalized and reinitialized (an HSM restart)', async () => {
    await token.generateAesKey({ label: 'key-restart', id: 'key-restart' })
    const iv = await token.random(12)
    const aad = Buffer.alloc(0)
    const sealed = await token.encryptGcm({ label: 'key-restart', iv, aad, data: Buffer.from('x') })
    loadModule(hsm.modulePath).api.C_Finalize()
    const opened = await token.decryptGcm({ label: 'key-restart', iv, aad, data: sealed })
    assert.deepEqual(opened, Buffer.from('x'))
  })

  it('serves many concurrent operations from a small pool', async () => {
    // Async crypto on libuv's threads interleaved with synchronous calls on the event loop:
    // this corrupted SoftHSM's heap until the module was initialized with CKF_OS_LOCKING_OK.
    const small = await Pkcs11Token.open({
      modulePath: hsm.modulePath,
      tokenLabel: 'adapter-test',
      pin: PIN,
      poolSize: 4,
    })
    await small.generateAesKey({ label: 'key-pool', id: 'key-pool' })
    // The pool as the metrics see it: the login session, idle, of at most four.
    assert.deepEqual(small.sessionPool(), { open: 1, idle: 1, size: 4, waiting: 0 })
    const aad = Buffer.from('a')
    const count = 400
    let busiest = small.sessionPool()
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const iv = await small.random(12)
        const data = Buffer.alloc(1024, `message ${i}`)
        const sealed = await small.encryptGcm({ label: 'key-pool', iv, aad, data })
        const pool = small.sessionPool()
        if (pool.waiting > busiest.waiting) busiest = pool
        return (await small.decryptGcm({ label: 'key-pool', iv, aad, data: sealed })).equals(data)
      }),
    )
    assert.deepEqual(results, Array(count).fill(true))
    // 400 calls on 4 sessions: every session opened, and calls waited for one.
    assert.equal(busiest.open, 4)
    assert.ok(busiest.waiting > 0, JSON.stringify(busiest))
    assert.equal(small.sessionPool().waiting, 0)
    await small.close()
  })
  it('opens in one call mode what it sealed in the other', async () => {
    const sync = await Pkcs11Token.open({
      modulePath: hsm.modulePath,
      tokenLabel: 'adapter-test',
      pin: PIN,
      callMode: 'sync',
    })
    try {
      await sync.generateAesKey({ label: 'key-modes', id: 'key-modes' })
      const iv = await sync.random(12)
      const aad = Buffer.from('modes')
      const data = Buffer.alloc(1024, 'both ways')
      const bySync = await sync.encryptGcm({ label: 'key-modes', iv, aad, data })
      assert.deepEqual(await token.decryptGcm({ label: 'key-modes', iv, aad, data: bySync }), data)
      const byAsync = await token.encryptGcm({ label: 'key-modes', iv, aad, data })
      assert.deepEqual(byAsync, bySync)
      assert.deepEqual(await sync.decryptGcm({ label: 'key-modes', iv, aad, data: byAsync }), data)
      await assert.rejects(
        sync.decryptGcm({ label: 'key-modes', iv, aad: Buffer.from('other'), data: byAsync }),
        /CKR_/,
      )
    } finally {
      await sync.close()
    }
  })

  describe('object handle cache', () => {
    const iv = Buffer.alloc(12, 7)
    const aad = Buffer.from('aad')
    const data = Buffer.from('cached')

    it('looks a key up once, not once per operation', async () => {
      await token.generateAesKey({ label: 'key-once', id: 'key-once' })
      const first = await countLookups(hsm.modulePath, () =>
        token.encryptGcm({ label: 'key-once', iv, aad, data }),
      )
      assert.equal(first, 1)
      const sealed = await token.encryptGcm({ label: 'key-once', iv, aad, data })
      const later = await countLookups(hsm.modulePath, async () => {
        for (let i = 0; i < 20; i++) await token.encryptGcm({ label: 'key-once', iv, aad, data })
        assert.deepEqual(await token.decryptGcm({ label: 'key-once', iv, aad, data: sealed }), data)
      })
      assert.equal(later, 0)
    })

    it('notices a key destroyed behind its back by another login of this process', async () => {
      await token.generateAesKey({ label: 'key-gone', id: 'key-gone' })
      const sealed = await token.encryptGcm({ label: 'key-gone', iv, aad, data })
      const other = await Pkcs11Token.open({
        modulePath: hsm.modulePath,
        tokenLabel: 'adapter-test',
        pin: PIN,
      })
      try {
        assert.equal(await other.destroyKey('key-gone'), true)
      } finally {
        await other.close()
      }
      await assert.rejects(
        token.encryptGcm({ label: 'key-gone', iv, aad, data }),
        HsmKeyNotFoundError,
      )
      await assert.rejects(
        token.decryptGcm({ label: 'key-gone', iv, aad, data: sealed }),
        HsmKeyNotFoundError,
      )
    })

    it('notices a key destroyed by another process, and uses a new key of the same label', async () => {
      await token.generateAesKey({ label: 'key-swapped', id: 'key-swapped' })
      const sealed = await token.encryptGcm({ label: 'key-swapped', iv, aad, data })
      destroyFromAnotherProcess({ tokenLabel: 'adapter-test', label: 'key-swapped' })
      await assert.rejects(
        token.decryptGcm({ label: 'key-swapped', iv, aad, data: sealed }),
        HsmKeyNotFoundError,
      )
      // A new key under the old label is found, and it is not the old key.
      await token.generateAesKey({ label: 'key-swapped', id: 'key-swapped' })
      await assert.rejects(
        token.decryptGcm({ label: 'key-swapped', iv, aad, data: sealed }),
        /CKR_GENERAL_ERROR/,
      )
      const resealed = await token.encryptGcm({ label: 'key-swapped', iv, aad, data })
      assert.notDeepEqual(resealed, sealed)
    })

    it('finds a key again once after a module restart, then keeps the new handle', async () => {
      await token.generateAesKey({ label: 'key-reset', id: 'key-reset' })
      const sealed = await token.encryptGcm({ label: 'key-reset', iv, aad, data })
      loadModule(hsm.modulePath).api.C_Finalize()
      const lookups = await countLookups(hsm.modulePath, async () => {
        assert.deepEqual(
          await token.decryptGcm({ label: 'key-reset', iv, aad, data: sealed }),
          data,
        )
        await token.encryptGcm({ label: 'key-reset', iv, aad, data })
      })
      assert.equal(lookups, 1)
    })
  })
})
