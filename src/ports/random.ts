import { randomBytes, randomUUID } from 'node:crypto'

/** Randomness, injected so that the domain core stays pure and tests can be deterministic. */
export interface Random {
  bytes(length: number): Buffer
  uuid(): string
}

/** The operating system's CSPRNG through node:crypto. */
export const systemRandom: Random = {
  bytes: (length) => randomBytes(length),
  uuid: () => randomUUID(),
}
