import { timingSafeEqual } from 'node:crypto'

/**
 * The one comparison for secrets (signatures, MACs, tokens): its time does not depend on where
 * the inputs differ. Inputs of different lengths compare unequal (lengths are not secret).
 *
 * @example
 *   constantTimeEqual(Buffer.from('a'), Buffer.from('a')) // true
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
