/**
 * The root key every piece of key material is wrapped under before it is stored. Asynchronous
 * so that a root key held in a PKCS#11 token fits behind the same port.
 */
export interface RootKey {
  /** A fingerprint that identifies the key without revealing it (stored, checked at start-up). */
  readonly fingerprint: string
  /** Seals `plaintext`, binding `context` (which record it belongs to) as authenticated data. */
  wrap(plaintext: Buffer, context: string): Promise<Buffer>
  /** @throws Error when `wrapped` was not made by this key for this context */
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>
}
