import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Stateless temporary credentials (STS AssumeRole and GetSessionToken). The session token is
 * the credential itself: AES-256-GCM over the session's claims (account, role or user, session
 * name, expiry, session tags and policy, and the secret access key), under a key derived from
 * a secret that is kept wrapped under the root key. Nothing is stored per session, so a token
 * keeps working across restarts and across `--workers` processes until it expires, and a token
 * cannot be forged or altered without that secret. The access key ID is the GCM's additional
 * authenticated data: a token opens only with the access key ID it was issued with.
 */

/** What a session token carries. Times are epoch milliseconds. */
export interface SessionClaims {
  /** `role`: an AssumeRole session; `user`: a GetSessionToken session of an IAM user. */
  readonly kind: 'role' | 'user'
  readonly accountId: string
  /** The role ARN (role sessions) or the user ARN (user sessions). */
  readonly principalArn: string
  /** RoleSessionName (role sessions only). */
  readonly sessionName?: string
  readonly issuedAt: number
  readonly expiresAt: number
  /** Session tags of AssumeRole (`Tags`). */
  readonly tags?: Readonly<Record<string, string>>
  /** The session policy of AssumeRole (`Policy`), as a JSON object. */
  readonly sessionPolicy?: unknown
  /** True for a session made from another session (role chaining): at most one hour. */
  readonly chained?: boolean
  readonly secretAccessKey: string
}

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** An access key ID of temporary credentials: ASIA + 16 base32 characters, as AWS issues. */
export function newTemporaryAccessKeyId(): string {
  return 'ASIA' + [...randomBytes(16)].map((b) => BASE32[b % 32]).join('')
}

/** A fresh 40-character secret access key. */
export const newTemporarySecret = (): string =>
  randomBytes(30).toString('base64').replace(/\+/g, 'a').replace(/\//g, 'b')

/**
 * Seals and opens session tokens under one secret.
 *
 * @example
 *   const tokens = new SessionTokens(secret)
 *   const token = tokens.seal('ASIA…', claims)
 *   tokens.open('ASIA…', token) // claims, or undefined when forged, altered or not ours
 */
export class SessionTokens {
  readonly #key: Buffer

  /** `secret`: at least 32 random bytes; the token key is derived from it with HKDF-SHA256 (RFC 5869). */
  constructor(secret: Buffer) {
    if (secret.length < 32) throw new Error('the session token secret must be 32 bytes or more')
    this.#key = Buffer.from(
      hkdfSync('sha256', secret, Buffer.alloc(0), 'keyward sts session token v1', 32),
    )
  }

  /** The session token for `accessKeyId` carrying `claims` (base64). */
  seal(accessKeyId: string, claims: SessionClaims): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(accessKeyId, 'utf8'))
    const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()])
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]).toString('base64')
  }

  /**
   * The claims of `token` when it was sealed by this secret for `accessKeyId`; undefined for
   * anything else (every failure alike: no oracle). Expiry is the caller's to check.
   */
  open(accessKeyId: string, token: string): SessionClaims | undefined {
    const raw = Buffer.from(token, 'base64')
    if (raw.length <= 1 + IV_BYTES + TAG_BYTES || raw[0] !== VERSION) return undefined
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(1, 1 + IV_BYTES))
      decipher.setAAD(Buffer.from(accessKeyId, 'utf8'))
      decipher.setAuthTag(raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES))
      const plain = Buffer.concat([
        decipher.update(raw.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ])
      return JSON.parse(plain.toString('utf8')) as SessionClaims
    } catch {
      return undefined
    }
  }
}
