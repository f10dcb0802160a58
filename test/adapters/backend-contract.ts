import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { SealingKey } from '../../src/domain/ciphertext.js'
import type { CustomKeyStoreRecord } from '../../src/domain/custom-key-store.js'
import type {
  BackendCall,
  BackendKey,
  GeneratedMaterial,
  KeyMaterialBackend,
  MaterialSource,
} from '../../src/ports/key-material-backend.js'
import { systemRandom } from '../../src/ports/random.js'

/** What the contract needs of one backend under test. */
export interface BackendHarness {
  readonly backend: KeyMaterialBackend
  /** The connected custom key store its keys live in; none for the software backend. */
  readonly store?: CustomKeyStoreRecord
  /**
   * Members of a new key the backend needs besides its ids (an external key made on the
   * proxy for it, as XksKeyId). Called once per key.
   */
  keyExtras(): Promise<Partial<BackendKey>>
  /** Where material the backend hands back is kept (KeyService's role in the server). */
  readonly materials: TestMaterials
  /** A store whose backend cannot be reached, and the ConnectionErrorCode that says why. */
  readonly unreachable?: { store: CustomKeyStoreRecord; connectionErrorCode: string }
  /**
   * What the backend answers when it refuses to open a ciphertext under a key itself:
   * InvalidCiphertextException with no message by default; an XKS proxy's refusal is
   * KMSInvalidStateException with an XKS message (xks.md §2.3), as AWS KMS answers it.
   */
  refused?(key: BackendKey): { name: string; message: string }
  /**
   * What opening a blob answers once the key's material was destroyed, when the backend
   * destroys anything.
   */
  destroyed?(key: BackendKey): { name: string; message: string }
  close(): Promise<void>
}

/** A contract test left out for one backend, with the reason. */
export interface ContractSkip {
  readonly test: 'destroy' | 'random' | 'unreachable'
  readonly reason: string
}

/**
 * Material kept in memory, by key and KeyMaterialId: KeyService's role (it wraps material
 * under the root key in the key store) without a database.
 */
export class TestMaterials implements MaterialSource {
  readonly #kept = new Map<string, Buffer>()

  keep(key: BackendKey, generated: GeneratedMaterial): void {
    if (generated.bytes) this.#kept.set(`${key.keyId}/${key.currentKeyMaterialId}`, generated.bytes)
  }

  async material(key: BackendKey, keyMaterialId = key.currentKeyMaterialId) {
    const material = this.#kept.get(`${key.keyId}/${keyMaterialId}`)
    if (!material || !keyMaterialId) return undefined
    const sealing: SealingKey = { keyId: key.keyId, keyMaterialId, material }
    return sealing
  }
}

const CALL: BackendCall = {
  requestId: '11111111-2222-4333-8444-555555555555',
  operation: 'Encrypt',
  callerArn: 'arn:aws:iam::111122223333:root',
}
const CONTEXT = { purpose: 'backend-contract', tenant: 'a' }
const INVALID_CIPHERTEXT = { name: 'InvalidCiphertextException', message: '' }

type Answer = { name: string; message: string }

/** Asserts that `promise` rejects with this exception name and exact message (or one of these). */
async function rejectsWith(promise: Promise<unknown>, expected: Answer | Answer[]): Promise<void> {
  const allowed = Array.isArray(expected) ? expected : [expected]
  await assert.rejects(promise, (error: Error) => {
    assert.ok(
      allowed.some((a) => a.name === error.name && a.message === error.message),
      `${error.name}: ${error.message} is none of ${JSON.stringify(allowed)}`,
    )
    return true
  })
}

/**
 * The contract of the KeyMaterialBackend port (src/ports/key-material-backend.ts), run
 * unchanged over every adapter, as runKeyStoreContract runs over stores. A test an adapter
 * cannot take is skipped with its reason, never dropped silently.
 *
 * @example
 *   runBackendContract('software', async () => softwareHarness(), [])
 */
export function runBackendContract(
  name: string,
  start: () => Promise<BackendHarness>,
  skips: readonly ContractSkip[] = [],
): void {
  describe(`KeyMaterialBackend contract: ${name}`, () => {
    let h: BackendHarness
    before(async () => {
      h = await start()
    })
    after(() => h?.close())

    const skipped = (test: ContractSkip['test']) => {
      const skip = skips.find((s) => s.test === test)
      return skip ? { skip: skip.reason } : {}
    }
    const place = () => ({ store: h.store })
    const refused = (key: BackendKey) => h.refused?.(key) ?? INVALID_CIPHERTEXT
    /** Refused locally (a header that names another key or material) or by the backend. */
    const refusedAnywhere = (key: BackendKey) => [INVALID_CIPHERTEXT, refused(key)]

    /** A generated key whose material the harness keeps. */
    async function newKey(): Promise<BackendKey> {
      const keyId = systemRandom.uuid()
      const key: BackendKey = {
        keyId,
        arn: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`,
        region: 'us-east-1',
        keySpec: 'SYMMETRIC_DEFAULT',
        currentKeyMaterialId: systemRandom.bytes(32).toString('hex'),
        ...(await h.keyExtras()),
      }
      h.materials.keep(key, await h.backend.generate(key, { ...place(), call: CALL }))
      return key
    }
    const seal = (key: BackendKey, plaintext: Buffer, context?: Record<string, string>) =>
      h.backend.seal(key, { ...place(), plaintext, context, call: CALL })
    const open = (key: BackendKey, blob: Buffer, context?: Record<string, string>) =>
      h.backend.open(key, { ...place(), blob, context, call: CALL })

    it('generate → seal → open gives the plaintext back, under the current material', async () => {
      const key = await newKey()
      const plaintext = Buffer.from('the contract plaintext')
      const sealed = await seal(key, plaintext, CONTEXT)
      assert.equal(sealed.keyMaterialId, key.currentKeyMaterialId)
      assert.equal(sealed.blob.includes(plaintext), false)
      const opened = await open(key, sealed.blob, CONTEXT)
      assert.deepEqual(opened.plaintext, plaintext)
      assert.equal(opened.keyMaterialId, key.currentKeyMaterialId)
      // An empty context binds nothing more than no context. (One byte: the model's minimum
      // for Plaintext, API Reference, Encrypt.)
      const bare = await seal(key, Buffer.from([0]))
      assert.deepEqual((await open(key, bare.blob, {})).plaintext, Buffer.from([0]))
    })

    it('seals the same plaintext into a different blob every time (a fresh IV)', async () => {
      const key = await newKey()
      const a = await seal(key, Buffer.from('same'))
      const b = await seal(key, Buffer.from('same'))
      assert.notDeepEqual(a.blob, b.blob)
    })

    it('refuses another, a missing or an extra encryption context', async () => {
      const key = await newKey()
      const { blob } = await seal(key, Buffer.from('bound'), CONTEXT)
      await rejectsWith(open(key, blob, { ...CONTEXT, tenant: 'b' }), refused(key))
      await rejectsWith(open(key, blob), refused(key))
      await rejectsWith(open(key, blob, { ...CONTEXT, more: 'x' }), refused(key))
    })

    it('refuses a tampered blob, a truncated one, and one sealed under another key', async () => {
      const key = await newKey()
      const other = await newKey()
      const { blob } = await seal(key, Buffer.from('intact'), CONTEXT)
      for (const at of [blob.length - 1, blob.length - 20, Math.floor(blob.length / 2)]) {
        const tampered = Buffer.from(blob)
        tampered[at] = tampered[at]! ^ 0x01
        await rejectsWith(open(key, tampered, CONTEXT), refusedAnywhere(key))
      }
      const truncated = blob.subarray(0, blob.length - 1)
      await rejectsWith(open(key, truncated, CONTEXT), refusedAnywhere(key))
      // The header names the key: another key refuses before any backend is asked.
      await rejectsWith(open(other, blob, CONTEXT), INVALID_CIPHERTEXT)
    })

    it('cannot open once the key material is destroyed', skipped('destroy'), async () => {
      const key = await newKey()
      const { blob } = await seal(key, Buffer.from('doomed'), CONTEXT)
      await h.backend.destroy(key, place())
      await rejectsWith(open(key, blob, CONTEXT), h.destroyed!(key))
    })

    it('draws n random bytes, different each time', skipped('random'), async () => {
      for (const n of [1, 32, 1024]) {
        assert.equal((await h.backend.random(n, place())).length, n)
      }
      const a = await h.backend.random(32, place())
      const b = await h.backend.random(32, place())
      assert.notDeepEqual(a, b)
    })

    it('reports AVAILABLE, and serves again after a disconnect', async () => {
      const key = await newKey()
      const { blob } = await seal(key, Buffer.from('kept'), CONTEXT)
      assert.deepEqual(await h.backend.availability({ ...place(), call: CALL }), {
        state: 'AVAILABLE',
      })
      if (h.store) await h.backend.disconnect(h.store)
      assert.deepEqual((await open(key, blob, CONTEXT)).plaintext, Buffer.from('kept'))
    })

    it(
      'reports UNAVAILABLE, with the ConnectionErrorCode, when it cannot be reached',
      skipped('unreachable'),
      async () => {
        const { store, connectionErrorCode } = h.unreachable!
        const availability = await h.backend.availability({ store, call: CALL })
        assert.equal(availability.state, 'UNAVAILABLE')
        assert.equal(
          availability.state === 'UNAVAILABLE' && availability.connectionErrorCode,
          connectionErrorCode,
        )
        // The reachable store is not affected by the unreachable one.
        assert.notEqual(
          (await h.backend.availability({ ...place(), call: CALL })).state,
          'UNAVAILABLE',
        )
      },
    )
  })
}
