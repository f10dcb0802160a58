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

const utf8 = (s: string) => Buffer.from(s, 'utf8')

/**
 * @example
 *   encodeEncryptionContext({ purpose: 'test' }).toString('hex')
 *   // 00000001 | 00000007 'purpose' | 00000004 'test'
 */
export function encodeEncryptionContext(context: EncryptionContext | undefined): Buffer {
  const entries = Object.entries(context ?? {})
    .map(([k, v]) => [utf8(k), utf8(v)] as const)
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
