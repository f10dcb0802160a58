import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pkcs11js from 'pkcs11js'
import { loadModule } from '../../../src/adapters/pkcs11/pkcs11-module.js'
import { Pkcs11Token } from '../../../src/adapters/pkcs11/pkcs11-token.js'
import { SOFTHSM_MISSING, startSoftHsm, type SoftHsm } from '../../support/softhsm.js'

const PIN = '1234567'
const needsSoftHsm = { skip: SOFTHSM_MISSING }
const IV = Buffer.alloc(12, 3)
const AAD = Buffer.from('aad')

/** The object handle of the key labelled `label`, as `token`'s sessions see it now. */
function handleOf(token: Pkcs11Token, label: string): Promise<string | undefined> {
  return token.withSession((session, api) => {
    api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }])
    try {
      return api.C_FindObjects(session)?.toString('hex')
    } finally {
      api.C_FindObjectsFinal(session)
    }
  })
}

/**
 * Finalizes the module (loading it first if needed), so that the next connection initializes
 * it again and SoftHSM numbers sessions and objects from 1: each test knows its numbering.
 */
function restartModule(modulePath: string): void {
  loadModule(modulePath).api.C_Finalize()
}

/** The handle of the one session of a token opened with poolSize 1. */
const sessionOf = (token: Pkcs11Token) => token.withSession((session) => session.toString('hex'))

/**
 * After a module restart (C_Finalize, C_Initialize) SoftHSM numbers sessions and objects from 1
 * again, so a handle kept from before may now name another key, even another token's. These
 * tests build exactly that collision (in a process of their own, so that the numbering is
 * known), check that it happened, and check that the token never uses the old handles.
 */
describe('Pkcs11Token object handles across a module restart (SoftHSMv2)', needsSoftHsm, () => {
  let hsm: SoftHsm
  const open = (tokenLabel: string) =>
    Pkcs11Token.open({ modulePath: hsm.modulePath, tokenLabel, pin: PIN, poolSize: 1 })

  before(() => {
    hsm = startSoftHsm()
    hsm.initToken({ label: 'restart-one', pin: PIN })
    hsm.initToken({ label: 'restart-two', pin: PIN })
  })
  after(() => hsm?.cleanup())

  it('drops its handles when its session pool is reset', async () => {
    restartModule(hsm.modulePath)
    const token = await open('restart-one')
    try {
      await token.generateAesKey({ label: 'key-a', id: 'key-a' })
      await token.generateAesKey({ label: 'key-b', id: 'key-b' })
      const sealedA = await token.encryptGcm({
        label: 'key-a',
        iv: IV,
        aad: AAD,
        data: Buffer.from('a'),
      })
      const sealedB = await token.encryptGcm({
        label: 'key-b',
        iv: IV,
        aad: AAD,
        data: Buffer.from('b'),
      })
      const oldA = await handleOf(token, 'key-a')
      restartModule(hsm.modulePath)
      // key-b first: after the restart it gets the number key-a had.
      assert.deepEqual(
        await token.decryptGcm({ label: 'key-b', iv: IV, aad: AAD, data: sealedB }),
        Buffer.from('b'),
      )
      assert.equal(await handleOf(token, 'key-b'), oldA, 'precondition: the handles collide')
      assert.deepEqual(
        await token.decryptGcm({ label: 'key-a', iv: IV, aad: AAD, data: sealedA }),
        Buffer.from('a'),
      )
    } finally {
      await token.close()
    }
  })

  it('never uses its handles once another connection has restarted the module', async () => {
    restartModule(hsm.modulePath)
    const one = await open('restart-one')
    const two = await open('restart-two')
    try {
      await one.generateAesKey({ label: 'key-one', id: 'key-one' })
      await two.generateAesKey({ label: 'key-two-a', id: 'key-two-a' })
      await two.generateAesKey({ label: 'key-two-b', id: 'key-two-b' })
      const data = Buffer.from('one')
      const sealedOne = await one.encryptGcm({ label: 'key-one', iv: IV, aad: AAD, data })
      const sealedTwo = await two.encryptGcm({ label: 'key-two-a', iv: IV, aad: AAD, data })
      const oldSession = await sessionOf(one)
      const oldHandle = await handleOf(one, 'key-one')
      restartModule(hsm.modulePath)
      // Token two notices first: it reinitializes the module, logs in again, finds its keys.
      await two.decryptGcm({ label: 'key-two-a', iv: IV, aad: AAD, data: sealedTwo })
      await two.encryptGcm({ label: 'key-two-b', iv: IV, aad: AAD, data })
      assert.equal(await sessionOf(two), oldSession, "precondition: one's session is now two's")
      assert.equal(await handleOf(two, 'key-two-b'), oldHandle, 'precondition: handles collide')
      // With its old session and handle, token one would now decrypt with token two's key.
      assert.deepEqual(
        await one.decryptGcm({ label: 'key-one', iv: IV, aad: AAD, data: sealedOne }),
        data,
      )
    } finally {
      await one.close()
      await two.close()
    }
  })
})
