import { createHash } from 'node:crypto'

/**
 * An independent, deliberately plain model of the SM2 curve (GB/T 32918.5 parameters) for the
 * tests: the Z_A hash of GB/T 32918.2 §5.5, and affine scalar multiplication for ECDH. Slow and
 * not constant-time; only ever used on test keys. OpenSSL 3.0 cannot derive with SM2 keys, so
 * this is what Keyward's SM2 ECDH is checked against.
 */
const P = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF')
const A = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC')
const B = BigInt('0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93')
export const SM2_N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123')
const GX = BigInt('0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7')
const GY = BigInt('0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0')

type Point = { x: bigint; y: bigint } | null

const mod = (v: bigint, m = P) => ((v % m) + m) % m
const inv = (v: bigint) => {
  let [a, b, x0, x1] = [mod(v), P, 1n, 0n]
  while (b) {
    const q = a / b
    ;[a, b, x0, x1] = [b, a - q * b, x1, x0 - q * x1]
  }
  return mod(x0)
}

function add(p: Point, q: Point): Point {
  if (!p) return q
  if (!q) return p
  if (p.x === q.x && mod(p.y + q.y) === 0n) return null
  const l =
    p.x === q.x && p.y === q.y
      ? mod((3n * p.x * p.x + A) * inv(2n * p.y))
      : mod((q.y - p.y) * inv(q.x - p.x))
  const x = mod(l * l - p.x - q.x)
  return { x, y: mod(l * (p.x - x) - p.y) }
}

function multiply(k: bigint, p: Point): Point {
  let result: Point = null
  for (let addend = p; k > 0n; k >>= 1n, addend = add(addend, addend)) {
    if (k & 1n) result = add(result, addend)
  }
  return result
}

const be32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex')
const fromBe = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex'))

/** The 04‖X‖Y point of d·G. */
export function sm2PublicPoint(d: bigint): Buffer {
  const q = multiply(d, { x: GX, y: GY })!
  return Buffer.concat([Buffer.from([4]), be32(q.x), be32(q.y)])
}

/** The SPKI of an SM2 public point (id-ecPublicKey with the SM2 curve OID, as OpenSSL writes). */
export function sm2Spki(point: Buffer): Buffer {
  const prefix = '3059301306072a8648ce3d020106082a811ccf5501822d034200'
  return Buffer.concat([Buffer.from(prefix, 'hex'), point])
}

/** ECDH: the x-coordinate of d·Q for a 04‖X‖Y point Q. */
export function sm2Ecdh(d: bigint, point: Uint8Array): Buffer {
  const q = { x: fromBe(point.subarray(1, 33)), y: fromBe(point.subarray(33, 65)) }
  return be32(multiply(d, q)!.x)
}

/**
 * Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5), for a 04‖X‖Y
 * public point.
 */
export function sm2Z(point: Uint8Array, id = '1234567812345678'): Buffer {
  const idBytes = Buffer.from(id, 'ascii')
  const entl = Buffer.alloc(2)
  entl.writeUInt16BE(idBytes.length * 8)
  return createHash('sm3')
    .update(Buffer.concat([entl, idBytes, be32(A), be32(B), be32(GX), be32(GY)]))
    .update(point.subarray(1))
    .digest()
}
