import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  encodeEncryptionContext,
  type EncryptionContext,
} from '../../src/domain/encryption-context.js'

/**
 * A decoder written from the documented encoding (count, then length-prefixed key and value
 * per pair, all u32 big-endian). If every encoding decodes back to its context, the encoding
 * is injective: two different contexts can never give the same authenticated data.
 */
function decode(encoded: Buffer): Record<string, string> {
  let at = 0
  const u32 = () => {
    const n = encoded.readUInt32BE(at)
    at += 4
    return n
  }
  const text = () => {
    const length = u32()
    const s = encoded.subarray(at, at + length)
    assert.equal(s.length, length, 'length prefix past the end')
    at += length
    return fromWtf8(s)
  }
  const out: Record<string, string> = {}
  for (let n = u32(); n > 0; n--) {
    const k = text()
    assert.ok(!(k in out), `duplicate key ${k}`)
    out[k] = text()
  }
  assert.equal(at, encoded.length, 'trailing bytes')
  return out
}

/** Decodes UTF-8 that may carry lone surrogates (WTF-8), one code point at a time. */
function fromWtf8(bytes: Buffer): string {
  let out = ''
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!
    const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4
    let cp = n === 1 ? b : b & (0xff >> (n + 1))
    for (let j = 1; j < n; j++) cp = (cp << 6) | (bytes[i + j]! & 0x3f)
    out += String.fromCodePoint(cp)
    i += n
  }
  return out
}

const hex = (c: EncryptionContext | undefined) => encodeEncryptionContext(c).toString('hex')

/** Contexts that must all encode differently from one another. */
const DISTINCT: Array<{ name: string; context: EncryptionContext }> = [
  { name: 'empty', context: {} },
  { name: 'a → bc', context: { a: 'bc' } },
  { name: 'ab → c', context: { ab: 'c' } },
  { name: 'abc → empty', context: { abc: '' } },
  { name: 'empty key → abc', context: { '': 'abc' } },
  { name: 'a → empty', context: { a: '' } },
  { name: 'empty → empty', context: { '': '' } },
  { name: 'a → b, c → d', context: { a: 'b', c: 'd' } },
  { name: 'a → bcd (pairs run together)', context: { a: 'bcd' } },
  { name: 'a → b\\0c → d (separator inside a value)', context: { a: 'b\u0000c\u0000d' } },
  { name: 'a → b=c (= inside a value)', context: { a: 'b=c' } },
  { name: 'a= → b (= inside a key)', context: { 'a=': 'b' } },
  { name: 'A → bc (case)', context: { A: 'bc' } },
  { name: 'café NFC', context: { k: 'caf\u00e9' } },
  { name: 'café NFD', context: { k: 'cafe\u0301' } },
  { name: 'emoji value', context: { k: '\u{1F511}' } },
  { name: 'emoji key', context: { '\u{1F511}': 'k' } },
  { name: 'a length-prefix lookalike', context: { a: '\u0000\u0000\u0000\u0001' } },
  { name: 'U+FFFD (the replacement character)', context: { k: '\ufffd' } },
  { name: 'a lone high surrogate', context: { k: '\ud800' } },
  { name: 'a lone low surrogate', context: { k: '\udfff' } },
  { name: 'two lone surrogates, reversed pair', context: { k: '\udc00\ud800' } },
  { name: 'a lone surrogate as the key', context: { '\ud800': 'k' } },
]

/** Pairs of contexts that are the same context and must encode identically. */
const SAME: Array<{
  name: string
  left: EncryptionContext | undefined
  right: EncryptionContext | undefined
}> = [
  { name: 'no context and an empty context', left: undefined, right: {} },
  { name: 'two pairs in either order', left: { a: '1', b: '2' }, right: { b: '2', a: '1' } },
  {
    name: 'keys whose UTF-16 and UTF-8 orders differ, in either order',
    left: { '\uffff': 'bmp', '\u{10000}': 'astral' },
    right: { '\u{10000}': 'astral', '\uffff': 'bmp' },
  },
  {
    name: 'many pairs reversed',
    left: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`])),
    right: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${19 - i}`, `v${19 - i}`])),
  },
]

describe('encodeEncryptionContext', () => {
  it('known answer: {"purpose":"test"}', () => {
    assert.equal(
      hex({ purpose: 'test' }),
      '00000001' + '00000007' + Buffer.from('purpose').toString('hex') + '00000004' + '74657374',
    )
  })

  it('no context is a zero count', () => {
    assert.equal(hex(undefined), '00000000')
  })

  it('sorts pairs by the UTF-8 bytes of their keys', () => {
    // U+FFFF sorts after U+10000 in UTF-16 code units, before it in UTF-8 bytes (EF vs F0).
    const decodedOrder = Object.keys(
      decode(encodeEncryptionContext({ '\u{10000}': '', '\uffff': '' })),
    )
    assert.deepEqual(decodedOrder, ['\uffff', '\u{10000}'])
  })

  describe('is injective: each context decodes back to itself', () => {
    for (const row of DISTINCT) {
      it(row.name, () =>
        assert.deepEqual(decode(encodeEncryptionContext(row.context)), row.context),
      )
    }
  })

  it('gives every context of the table its own encoding', () => {
    const seen = new Map<string, string>()
    for (const row of DISTINCT) {
      const h = hex(row.context)
      assert.equal(seen.get(h), undefined, `${row.name} collides with ${seen.get(h)}`)
      seen.set(h, row.name)
    }
  })

  describe('is independent of the order of the pairs', () => {
    for (const row of SAME) it(row.name, () => assert.equal(hex(row.left), hex(row.right)))
  })
})
