import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  FORMAT_V1,
  FORMAT_V2,
  FORMAT_V3,
  openCiphertext,
  openCiphertextTwice,
  sealCiphertextTwice,
  type ExternalSealer,
  openCiphertextWithGcmKey,
  sealCiphertextWithGcmKey,
  type GcmKey,
  deriveMessageKey,
  readCiphertextHeader,
  sealCiphertext,
  type SealingKey,
} from '../../src/domain/ciphertext.js'
import {
  encodeEncryptionContext,
  type EncryptionContext,
} from '../../src/domain/encryption-context.js'
import type { Random } from '../../src/ports/random.js'
import { InvalidCiphertextException } from '../../src/domain/errors/exceptions.js'

/** A Random that replays SHA-256(seed ‖ counter): the same seed gives the same blob. */
function deterministicRandom(seed: string): Random {
  let counter = 0
  const bytes = (length: number) => {
    const out: Buffer[] = []
    let have = 0
    while (have < length) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest()
      out.push(block)
      have += block.length
    }
    return Buffer.concat(out).subarray(0, length)
  }
  return { bytes, uuid: () => bytes(16).toString('hex') }
}

const KEY: SealingKey = {
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  keyMaterialId: 'a'.repeat(64),
  material: Buffer.alloc(32, 0x42),
}
const PLAINTEXT = Buffer.from('known plaintext')
const CONTEXT: EncryptionContext = { purpose: 'unit-test', tenant: 'acme' }

const KAT_BLOB = Buffer.from(
  '012431323334616263642d313261622d333463642d353665662d313233343536373839306162' + // 01, 36, key ID
    'aa'.repeat(32) + // key material ID
    '2eb12e8f659550b777b49225491d82fd' + // salt
    'c0604b3024263367a66799c5' + // IV
    '50b91aa7aa67aef7d7fc42df056595' + // ciphertext of 'known plaintext'
    '808a1ba3b129ce40da98e6e60210c6bc', // GCM tag
  'hex',
)

const seal = (
  over: { key?: SealingKey; plaintext?: Buffer; context?: EncryptionContext } = {},
  seed = 'seed',
) =>
  sealCiphertext(
    {
      key: over.key ?? KEY,
      plaintext: over.plaintext ?? PLAINTEXT,
      ...('context' in over ? { context: over.context } : { context: CONTEXT }),
    },
    deterministicRandom(seed),
  )

/** Asserts the one failure every open path must end in: InvalidCiphertextException, no text. */
function assertInvalid(fn: () => unknown, label: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof InvalidCiphertextException, `${label}: ${String(error)}`)
      assert.equal(error.message, '', label)
      assert.equal(error.name, 'InvalidCiphertextException', label)
      return true
    },
    label,
  )
}

describe('ciphertext seal/open', () => {
  describe('round trip', () => {
    const rows: Array<{ name: string; plaintext: Buffer; context?: EncryptionContext }> = [
      { name: 'with a context', plaintext: PLAINTEXT, context: CONTEXT },
      { name: 'without a context', plaintext: PLAINTEXT, context: undefined },
      { name: 'a single byte', plaintext: Buffer.from([0]), context: CONTEXT },
      { name: '4096 bytes (the Encrypt limit)', plaintext: Buffer.alloc(4096, 7), context: {} },
      { name: 'an empty plaintext', plaintext: Buffer.alloc(0), context: CONTEXT },
      { name: 'a unicode context', plaintext: PLAINTEXT, context: { 'cl\u00e9': '\u{1F511}' } },
    ]
    for (const row of rows) {
      it(row.name, () => {
        const blob = seal({ plaintext: row.plaintext, context: row.context })
        const opened = openCiphertext({ blob, key: KEY, context: row.context })
        assert.deepEqual(opened, row.plaintext)
      })
    }

    it('refuses to seal under a key material ID that is not 64 hex characters', () => {
      // The header is written in place: a short ID must not leave unwritten bytes in it.
      assert.throws(() => seal({ key: { ...KEY, keyMaterialId: 'ab'.repeat(31) } }), {
        name: 'Error',
        message: 'a key material ID is 64 hex characters',
      })
    })

    it('works for an mrk- key ID', () => {
      const key = { ...KEY, keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab' }
      const blob = seal({ key })
      assert.equal(readCiphertextHeader(blob)?.keyId, key.keyId)
      assert.deepEqual(openCiphertext({ blob, key, context: CONTEXT }), PLAINTEXT)
    })

    it('is deterministic for a deterministic Random, and differs per seed', () => {
      assert.deepEqual(seal({}, 'one'), seal({}, 'one'))
      assert.notDeepEqual(seal({}, 'one'), seal({}, 'two'))
    })
  })

  describe('format version 1, as documented in src/domain/ciphertext.ts', () => {
    it('matches an independent construction of the layout', () => {
      // One draw of 28 bytes per message: the salt, then the IV.
      const fresh = deterministicRandom('layout').bytes(28)
      const salt = fresh.subarray(0, 16)
      const iv = fresh.subarray(16)
      const header = Buffer.concat([
        Buffer.from([0x01, KEY.keyId.length]),
        Buffer.from(KEY.keyId, 'ascii'),
        Buffer.from(KEY.keyMaterialId, 'hex'),
        salt,
        iv,
      ])
      const derived = Buffer.from(
        hkdfSync('sha256', KEY.material, salt, Buffer.from('keyward ciphertext v1'), 32),
      )
      const cipher = createCipheriv('aes-256-gcm', derived, iv)
      cipher.setAAD(Buffer.concat([header, encodeEncryptionContext(CONTEXT)]))
      const expected = Buffer.concat([
        header,
        cipher.update(PLAINTEXT),
        cipher.final(),
        cipher.getAuthTag(),
      ])
      assert.deepEqual(seal({}, 'layout'), expected)
      assert.equal(expected.length, 2 + 36 + 32 + 16 + 12 + PLAINTEXT.length + 16)
    })

    it('still opens a blob frozen at format version 1 (known answer)', () => {
      // Sealed once by the first implementation (seed 'kat'). Stored ciphertexts live for
      // years: a change to the code must keep opening this blob.
      assert.deepEqual(openCiphertext({ blob: KAT_BLOB, key: KEY, context: CONTEXT }), PLAINTEXT)
    })

    it('derives the per-message key with HKDF-SHA256 exactly as RFC 5869 (node hkdfSync)', () => {
      for (const seed of ['a', 'b', 'c']) {
        const salt = deterministicRandom(seed).bytes(16)
        const expected = Buffer.from(
          hkdfSync('sha256', KEY.material, salt, Buffer.from('keyward ciphertext v1'), 32),
        )
        assert.deepEqual(deriveMessageKey(KEY.material, salt), expected)
      }
    })
  })

  describe('readCiphertextHeader', () => {
    const good = seal()
    const rows: Array<{
      name: string
      blob: Buffer
      header: ReturnType<typeof readCiphertextHeader>
    }> = [
      {
        name: 'a sealed blob',
        blob: good,
        header: { keyId: KEY.keyId, keyMaterialId: KEY.keyMaterialId },
      },
      {
        name: 'header and tag only (empty plaintext)',
        blob: seal({ plaintext: Buffer.alloc(0) }),
        header: { keyId: KEY.keyId, keyMaterialId: KEY.keyMaterialId },
      },
      { name: 'no bytes', blob: Buffer.alloc(0), header: undefined },
      { name: 'the version byte only', blob: Buffer.from([FORMAT_V1]), header: undefined },
      // 0x02 is the HSM format (its own tests are below); 0x03 was never written.
      { name: 'another version', blob: withByte(good, 0, 0x03), header: undefined },
      { name: 'version 0', blob: withByte(good, 0, 0x00), header: undefined },
      { name: 'a key-ID length of 0', blob: withByte(good, 1, 0), header: undefined },
      {
        name: 'a key-ID length past the end',
        blob: withByte(good, 1, 255),
        header: undefined,
      },
      {
        name: 'one byte short of header and tag',
        blob: good.subarray(0, 2 + 36 + 60 + 15),
        header: undefined,
      },
      {
        name: 'a key ID that is not well-formed',
        blob: withByte(good, 2, 'Z'.charCodeAt(0)),
        header: undefined,
      },
      {
        name: 'a key-ID byte with its high bit set',
        blob: withByte(good, 2, good[2]! | 0x80),
        header: undefined,
      },
    ]
    for (const row of rows) {
      it(row.name, () => assert.deepEqual(readCiphertextHeader(row.blob), row.header))
    }
  })

  describe('every failure to open is InvalidCiphertextException with no message', () => {
    const blob = seal()
    const open =
      (b: Buffer, over: { key?: SealingKey; context?: EncryptionContext } = {}) =>
      () =>
        openCiphertext({
          blob: b,
          key: over.key ?? KEY,
          ...('context' in over ? { context: over.context } : { context: CONTEXT }),
        })

    const rows: Array<{ name: string; run: () => unknown }> = [
      {
        name: 'another key material',
        run: open(blob, { key: { ...KEY, material: Buffer.alloc(32, 1) } }),
      },
      {
        name: 'a sealing key of another key ID',
        run: open(blob, { key: { ...KEY, keyId: '00000000-0000-4000-8000-000000000000' } }),
      },
      {
        name: 'a sealing key of another material ID',
        run: open(blob, { key: { ...KEY, keyMaterialId: 'b'.repeat(64) } }),
      },
      { name: 'another context', run: open(blob, { context: { purpose: 'other' } }) },
      { name: 'no context', run: open(blob, { context: undefined }) },
      { name: 'an empty context', run: open(blob, { context: {} }) },
      {
        name: '{"a":"bc"} for {"ab":"c"}',
        run: open(seal({ context: { ab: 'c' } }), { context: { a: 'bc' } }),
      },
      { name: 'a byte appended', run: open(Buffer.concat([blob, Buffer.from([0])])) },
      { name: 'another version byte', run: open(withByte(blob, 0, 2)) },
      { name: 'garbage', run: open(deterministicRandom('garbage').bytes(blob.length)) },
    ]
    for (const row of rows) it(row.name, () => assertInvalid(row.run, row.name))

    it(`any single flipped bit, in each of the blob's bytes`, () => {
      for (let i = 0; i < blob.length; i++) {
        for (const bit of [0, 7]) {
          assertInvalid(open(withByte(blob, i, blob[i]! ^ (1 << bit))), `byte ${i} bit ${bit}`)
        }
      }
    })

    it('truncation to any shorter length', () => {
      for (let n = 0; n < blob.length; n++) assertInvalid(open(blob.subarray(0, n)), `${n} bytes`)
    })
  })
})

/** A copy of `blob` with byte `index` set to `value`. */
function withByte(blob: Buffer, index: number, value: number): Buffer {
  const copy = Buffer.from(blob)
  copy[index] = value
  return copy
}

/** A GcmKey over node:crypto, standing in for an HSM: AES-256-GCM, ciphertext ‖ tag. */
function softwareGcmKey(key: Buffer): GcmKey {
  return {
    seal: async ({ iv, aad, data }) => {
      const c = createCipheriv('aes-256-gcm', key, iv).setAAD(aad)
      return Buffer.concat([c.update(data), c.final(), c.getAuthTag()])
    },
    open: async ({ iv, aad, data }) => {
      const d = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad)
      d.setAuthTag(data.subarray(data.length - 16))
      return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()])
    },
  }
}

describe('ciphertext format version 2 (AES-GCM by an HSM)', () => {
  const gcm = softwareGcmKey(Buffer.alloc(32, 0x24))
  const header = { keyId: KEY.keyId, keyMaterialId: KEY.keyMaterialId }
  const sealV2 = (context: EncryptionContext | undefined = CONTEXT) =>
    sealCiphertextWithGcmKey(
      { header, plaintext: PLAINTEXT, gcm, ...(context ? { context } : {}) },
      deterministicRandom('v2'),
    )
  const openV2 = (blob: Buffer, context: EncryptionContext | undefined = CONTEXT) =>
    openCiphertextWithGcmKey({
      blob,
      expected: header,
      gcm,
      isHsmFailure: () => false,
      ...(context ? { context } : {}),
    })

  it('lays out version, key ID, material ID and IV as header, and binds it with the context', async () => {
    const blob = await sealV2()
    const keyIdLength = KEY.keyId.length
    assert.equal(blob[0], FORMAT_V2)
    assert.equal(blob[1], keyIdLength)
    assert.equal(blob.length, 2 + keyIdLength + 32 + 12 + PLAINTEXT.length + 16)
    assert.deepEqual(readCiphertextHeader(blob), { ...header, format: FORMAT_V2 })
    // The AAD is the header followed by the canonical context, as in version 1.
    const bodyAt = 2 + keyIdLength + 32 + 12
    const iv = blob.subarray(bodyAt - 12, bodyAt)
    const aad = Buffer.concat([blob.subarray(0, bodyAt), encodeEncryptionContext(CONTEXT)])
    assert.deepEqual(await gcm.open({ iv, aad, data: blob.subarray(bodyAt) }), PLAINTEXT)
    assert.deepEqual(await openV2(blob), PLAINTEXT)
  })

  it('fails closed on another context, a flipped bit, or the other format', async () => {
    const blob = await sealV2()
    await assert.rejects(openV2(blob, { purpose: 'other' }), InvalidCiphertextException)
    await assert.rejects(openV2(blob, {}), InvalidCiphertextException)
    for (const at of [0, 5, blob.length - 20, blob.length - 1]) {
      const tampered = Buffer.from(blob)
      tampered[at]! ^= 1
      await assert.rejects(openV2(tampered), InvalidCiphertextException)
    }
    // A version-1 blob is not opened as version 2, nor a version-2 blob as version 1.
    await assert.rejects(openV2(seal()), InvalidCiphertextException)
    assert.throws(
      () => openCiphertext({ blob, key: KEY, context: CONTEXT }),
      InvalidCiphertextException,
    )
  })

  it('lets the HSM’s own failures through for the caller to report', async () => {
    const blob = await sealV2()
    const down = new Error('HSM unreachable')
    await assert.rejects(
      openCiphertextWithGcmKey({
        blob,
        expected: header,
        context: CONTEXT,
        gcm: { ...gcm, open: () => Promise.reject(down) },
        isHsmFailure: (e) => e === down,
      }),
      (e) => e === down,
    )
  })
})

describe('format version 3 (double encryption, external key stores)', () => {
  /** A stand-in for an XKS proxy: AES-256-GCM under its own key, the AAD as given. */
  function externalKey(
    key = Buffer.alloc(32, 9),
    cm?: Buffer,
  ): ExternalSealer & { aads: Buffer[] } {
    const aads: Buffer[] = []
    return {
      aads,
      seal: async ({ plaintext, aad }) => {
        aads.push(aad)
        const iv = Buffer.alloc(12, aads.length)
        const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad)
        const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
        return {
          ciphertext,
          iv,
          tag: cipher.getAuthTag(),
          ...(cm ? { ciphertextMetadata: cm } : {}),
        }
      },
      open: async ({ ciphertext, iv, tag, aad }) => {
        const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(tag)
        return Buffer.concat([decipher.update(ciphertext), decipher.final()])
      },
    }
  }
  const random = deterministicRandom('v3')
  const context = { purpose: 'xks' }

  it('opens with the same key material and external key, and names its key in the header', async () => {
    const external = externalKey(undefined, Buffer.from([1, 2, 3]))
    const blob = await sealCiphertextTwice(
      { key: KEY, plaintext: Buffer.from('secret'), context, external },
      random,
    )
    assert.equal(blob[0], FORMAT_V3)
    assert.deepEqual(readCiphertextHeader(blob), {
      keyId: KEY.keyId,
      keyMaterialId: KEY.keyMaterialId,
      format: FORMAT_V3,
    })
    const opened = await openCiphertextTwice({ blob, key: KEY, context, external })
    assert.equal(opened.toString(), 'secret')
    // The proxy's AAD: version, key ID and material ID, then SHA-256 of the canonical context.
    const reference = blob.subarray(0, 2 + KEY.keyId.length + 32)
    const digest = createHash('sha256').update(encodeEncryptionContext(context)).digest()
    assert.deepEqual(external.aads[0], Buffer.concat([reference, digest]))
    // The caller's plaintext never reaches the external key manager.
    assert.ok(!external.aads.some((a) => a.includes('secret')))
  })

  it('needs both layers: another external key or other key material fails', async () => {
    const external = externalKey()
    const blob = await sealCiphertextTwice(
      { key: KEY, plaintext: Buffer.from('secret'), context, external },
      random,
    )
    await assert.rejects(
      openCiphertextTwice({ blob, key: KEY, context, external: externalKey(Buffer.alloc(32, 8)) }),
    )
    const otherMaterial = { ...KEY, material: Buffer.alloc(32, 5) }
    await assert.rejects(
      openCiphertextTwice({ blob, key: otherMaterial, context, external }),
      InvalidCiphertextException,
    )
    await assert.rejects(
      openCiphertextTwice({ blob, key: KEY, context: { purpose: 'other' }, external }),
    )
    // The outer layer opened, the inner did not: the caller chooses whom to blame.
    const blamed = new Error('the proxy returned something else')
    await assert.rejects(
      openCiphertextTwice({
        blob,
        key: otherMaterial,
        context,
        external,
        innerFailure: () => blamed,
      }),
      (error) => error === blamed,
    )
  })

  it('refuses malformed blobs (IV length, CM length, truncation) as InvalidCiphertext', async () => {
    const external = externalKey()
    const blob = await sealCiphertextTwice(
      { key: KEY, plaintext: Buffer.from('secret'), context, external },
      random,
    )
    const ivAt = 2 + KEY.keyId.length + 32
    const badIv = Buffer.from(blob)
    badIv[ivAt] = 13
    const badCm = Buffer.from(blob)
    badCm[ivAt + 1 + 12] = 21
    for (const broken of [badIv, badCm, blob.subarray(0, ivAt + 1 + 12 + 1 + 16 + 10)]) {
      assert.equal(readCiphertextHeader(broken), undefined)
      await assert.rejects(
        openCiphertextTwice({ blob: broken, key: KEY, context, external }),
        InvalidCiphertextException,
      )
    }
    // A version-3 blob is not a version-1 one.
    assert.throws(() => openCiphertext({ blob, key: KEY, context }), InvalidCiphertextException)
  })
})
