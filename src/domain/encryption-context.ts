/**
 * The one canonical encoding of an encryption context, used as authenticated data by every
 * operation that seals or opens a ciphertext.
 *
 * Pairs are sorted by key (UTF-8 byte order) and each key and value is written with a 4-byte
 * big-endian length prefix, so the encoding is injective: {"a":"bc"} and {"ab":"c"} encode
 * differently (the delimiter-free concatenation used by several emulators makes them collide).
 * AWS requires an exact, case-sensitive match of the context on Decrypt (Developer Guide,
 * "Encryption context").
 */
export type EncryptionContext = Readonly<Record<string, string>>

// With the u flag a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\ud800-\udfff]/u

/**
 * UTF-8, extended to lone surrogates as WTF-8 does (https://simonsapin.github.io/wtf-8/): a
 * JSON string may carry an unpaired "\ud800", which plain UTF-8 encoding replaces with U+FFFD,
 * so {"k":"\ud800"} and {"k":"\ufffd"} would bind the same. WTF-8 writes a lone surrogate as
 * the three bytes ED A0 80..ED BF BF, which never occur in UTF-8, and is byte-identical to UTF-8
 * for every well-formed string, so the encoding stays injective and existing blobs still open.
 */
function wtf8(s: string): Buffer {
  if (!LONE_SURROGATE.test(s)) return Buffer.from(s, 'utf8')
  const parts: Buffer[] = []
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    parts.push(
      cp >= 0xd800 && cp <= 0xdfff
        ? Buffer.from([0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)])
        : Buffer.from(ch, 'utf8'),
    )
  }
  return Buffer.concat(parts)
}

/**
 * @example
 *   encodeEncryptionContext({ purpose: 'test' }).toString('hex')
 *   // 00000001 | 00000007 'purpose' | 00000004 'test'
 */
export function encodeEncryptionContext(context: EncryptionContext | undefined): Buffer {
  // Most requests carry no context: its encoding is a zero count, with no entries to sort.
  if (context === undefined) return Buffer.alloc(4)
  const entries = Object.entries(context ?? {})
    .map(([k, v]) => [wtf8(k), wtf8(v)] as const)
    .sort(([a], [b]) => Buffer.compare(a, b))
  const parts: Buffer[] = [u32(entries.length)]
  for (const [k, v] of entries) parts.push(u32(k.length), k, u32(v.length), v)
  return Buffer.concat(parts)
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(n)
  return b
}
