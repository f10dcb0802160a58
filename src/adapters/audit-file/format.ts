import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hash,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'

/**
 * The on-disk form of the audit trail, shared by the writer and `keyward audit verify`.
 *
 * A stream (one per server process) is a directory of numbered JSON-lines files. Every line is
 * `{"seq":n,"prev":"<SHA-256 of the previous line>", …}`: a chain that runs across files, so a
 * changed, removed, inserted or reordered line breaks it where it happened. The first line of
 * each file is a header naming the file's index and the SHA-256 of the whole previous file;
 * every other line holds one CloudTrail record. Digest files, signed with Keyward's Ed25519
 * key and chained to the previous digest, state the length and SHA-256 of every file written
 * since the last digest, as CloudTrail's log file integrity validation does (CloudTrail User
 * Guide, "CloudTrail digest file structure"); they catch whoever rewrites a whole chain.
 */

/** The SHA-256 the chain starts from (the `prev` of a stream's first line). */
export const GENESIS = '0'.repeat(64)

/** A line of a trail file: the file header, or one record. */
export type TrailLine =
  | {
      readonly seq: number
      readonly prev: string
      readonly file: {
        readonly stream: string
        readonly index: number
        readonly opened: string
        /** SHA-256 of the whole previous file of the stream; GENESIS for the first. */
        readonly previousFile: string
      }
    }
  | { readonly seq: number; readonly prev: string; readonly record: Record<string, unknown> }

/** A digest, before its signature is added. */
export interface DigestBody {
  readonly digestVersion: 1
  readonly stream: string
  readonly index: number
  readonly created: string
  /** SHA-256 of the previous digest file's bytes; GENESIS for the first. */
  readonly previousDigest: string
  /** SHA-256 of the signing key's public key (SPKI DER), to tell keys apart. */
  readonly publicKey: string
  /** Each file written since the previous digest: its first `bytes` bytes hash to `sha256`. */
  readonly files: ReadonlyArray<{
    readonly name: string
    readonly bytes: number
    readonly sha256: string
    readonly lastSeq: number
  }>
}

/** A digest as written: its body and an Ed25519 signature over the body's JSON text. */
export type Digest = DigestBody & { readonly signature: string }

/**
 * SHA-256 in hex, the hash of the chain and the digests: node's one-shot crypto.hash, which
 * makes no Hash object for each of the thousands of lines a second a busy server writes.
 *
 * @example
 *   sha256('line') // 'c5…' (64 hex digits)
 */
export const sha256 = (data: string | Buffer) => hash('sha256', data, 'hex')

/** What a line holds beside its prefix and record: the previous line's hash and punctuation. */
const RECORD_MEMBER = '","record":'
const LINE_OVERHEAD = GENESIS.length + RECORD_MEMBER.length + '}\n'.length

/**
 * The record lines of a batch, chained on from `from`: each line is the text
 * `JSON.stringify({ seq, prev, record })` gives, followed by a newline, with `records` the
 * records' JSON in UTF-8. The lines are assembled in one buffer and each hashed where it
 * lies: on a busy server this runs for thousands of records a second, and strings built per
 * line cost more in copies and garbage collection than the rest of the trail's work.
 *
 * @example
 *   const { bytes, seq, prev } = chainLines([Buffer.from('{"eventName":"Encrypt"}')], { seq: 1, prev })
 *   // bytes: '{"seq":2,"prev":"…","record":{"eventName":"Encrypt"}}\n'; prev: its SHA-256
 */
export function chainLines(
  records: readonly Buffer[],
  from: { readonly seq: number; readonly prev: string },
): { bytes: Buffer; seq: number; prev: string } {
  let seq = from.seq
  let prev = from.prev
  const prefixes = records.map(() => `{"seq":${++seq},"prev":"`)
  let size = 0
  records.forEach((record, i) => (size += prefixes[i]!.length + LINE_OVERHEAD + record.length))
  const bytes = Buffer.allocUnsafe(size)
  let at = 0
  records.forEach((record, i) => {
    const start = at
    // The prefix and the hash are ASCII: latin1 writes them byte for byte.
    at += bytes.write(prefixes[i]! + prev + RECORD_MEMBER, at, 'latin1')
    at += record.copy(bytes, at)
    at += bytes.write('}', at, 'latin1')
    prev = sha256(bytes.subarray(start, at))
    at += bytes.write('\n', at, 'latin1')
  })
  return { bytes, seq, prev }
}

/**
 * `keyward-audit-00000001.jsonl`: the index sorts as text.
 *
 * @example
 *   trailFileName(2) // 'keyward-audit-00000002.jsonl'
 */
export const trailFileName = (index: number) =>
  `keyward-audit-${String(index).padStart(8, '0')}.jsonl`
/**
 * The name of the digest numbered `index`.
 *
 * @example
 *   digestFileName(2) // 'keyward-digest-00000002.json'
 */
export const digestFileName = (index: number) =>
  `keyward-digest-${String(index).padStart(8, '0')}.json`
export const TRAIL_FILE = /^keyward-audit-(\d{8})\.jsonl$/
export const DIGEST_FILE = /^keyward-digest-(\d{8})\.json$/

/**
 * The bytes a digest's signature covers: the body's JSON, members in the order written.
 *
 * @example
 *   sign(null, digestSigningBytes(body), privateKey)
 */
export const digestSigningBytes = (body: DigestBody) => Buffer.from(JSON.stringify(body))

/**
 * Signs a digest body.
 *
 * @example
 *   const digest = signDigest(body, privateKey)
 */
export function signDigest(body: DigestBody, privateKey: KeyObject): Digest {
  const signature = sign(null, digestSigningBytes(body), privateKey).toString('base64')
  return { ...body, signature }
}

/**
 * Whether a digest's signature is the key's over its body (members as they were written).
 *
 * @example
 *   digestSignatureValid(JSON.parse(text), publicKey) // true
 */
export function digestSignatureValid(digest: Digest, publicKey: KeyObject): boolean {
  const { signature, ...body } = digest
  try {
    return verify(
      null,
      digestSigningBytes(body as DigestBody),
      publicKey,
      Buffer.from(signature, 'base64'),
    )
  } catch {
    return false
  }
}

/**
 * SHA-256 of a public key's SPKI DER, as digests name their key.
 *
 * @example
 *   publicKeyId(createPublicKey(privateKey)) // 64 hex digits
 */
export const publicKeyId = (publicKey: KeyObject) =>
  sha256(publicKey.export({ type: 'spki', format: 'der' }))

/**
 * Keyward's audit signing key: an Ed25519 key in PKCS#8 PEM at `path`, created on first use
 * with mode 0600 (`wx`: two processes starting at once do not overwrite each other's).
 *
 * @example
 *   const key = loadOrCreateSigningKey('/root/.keyward/audit-signing.key')
 */
export function loadOrCreateSigningKey(path: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(path))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const { privateKey } = generateKeyPairSync('ed25519')
  try {
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return createPrivateKey(readFileSync(path))
  }
  return privateKey
}

/**
 * The public half of a PEM file that holds either half.
 *
 * @example
 *   const publicKey = readPublicKey('/root/.keyward/audit-signing.key')
 */
export function readPublicKey(path: string): KeyObject {
  const pem = readFileSync(path)
  return pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem)
}
