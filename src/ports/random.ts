import { randomBytes, randomFillSync, randomUUID } from 'node:crypto'

/** Randomness, injected so that the domain core stays pure and tests can be deterministic. */
export interface Random {
  bytes(length: number): Buffer
  uuid(): string
}

const POOL_BYTES = 8192
const SMALL = 256
let pool = Buffer.alloc(0)
let offset = 0

/**
 * Small draws (salts, IVs: every seal takes 28 bytes) come from a pool refilled from the CSPRNG
 * 8 KiB at a time, the way node's randomUUID buffers its entropy: one system call per ~290
 * seals instead of one each. Every byte is handed out once, as a copy; large draws go straight
 * to randomBytes.
 */
function pooledBytes(length: number): Buffer {
  if (length > SMALL) return randomBytes(length)
  if (offset + length > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES))
    offset = 0
  }
  const out = Buffer.from(pool.subarray(offset, offset + length))
  pool.fill(0, offset, offset + length)
  offset += length
  return out
}

/** The operating system's CSPRNG through node:crypto. */
export const systemRandom: Random = {
  bytes: pooledBytes,
  uuid: () => randomUUID(),
}
