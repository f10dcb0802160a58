import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import {
  closeSync,
  createReadStream,
  createWriteStream,
  openSync,
  readSync,
  statSync,
} from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { RootKey } from '../../ports/root-key.js'

/**
 * The encrypted backup file of `keyward backup`:
 *
 *   "KWBACKUP" ‖ u32be header length ‖ header (JSON) ‖ AES-256-GCM ciphertext ‖ 16-byte tag
 *
 * The header names the format, when the snapshot was taken, the fingerprint of the root key
 * and a fresh 256-bit file key wrapped under the root key (RootKey.wrap: AES-256-GCM in
 * software, or inside the PKCS#11 token), with the IV. The whole prefix up to the ciphertext
 * is the GCM additional data, so no header byte can be changed unnoticed (NIST SP 800-38D).
 * A file key per backup keeps each backup within GCM's limits, and wrapping it rather than
 * deriving it from the root key lets a root key held in an HSM, which never leaves the token,
 * protect backups too.
 */

const MAGIC = Buffer.from('KWBACKUP')
const FORMAT = 'keyward-backup'
const VERSION = 1
const TAG_BYTES = 16
/** The context the file key is wrapped under (RootKey.wrap binds it as additional data). */
const FILE_KEY_CONTEXT = 'keyward backup file key v1'
/** A header larger than this is not one of ours (it holds a few short strings). */
const MAX_HEADER_BYTES = 64 * 1024

/** What the header of a backup says. */
export interface BackupHeader {
  readonly format: typeof FORMAT
  readonly version: typeof VERSION
  /** ISO 8601 time of the snapshot. */
  readonly createdAt: string
  /** Fingerprint of the root key the file key is wrapped under (RootKey.fingerprint). */
  readonly rootKeyFingerprint: string
  /** The file key wrapped under the root key, base64. */
  readonly wrappedKey: string
  /** The GCM IV, base64. */
  readonly iv: string
}

/** Bytes processed so far of a file of `totalBytes`. */
export type ByteProgress = (done: number, totalBytes: number) => void

/** Counts the bytes that pass through, for a progress counter. */
function counter(totalBytes: number, onProgress: ByteProgress | undefined): Transform {
  let done = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length
      onProgress?.(done, totalBytes)
      callback(null, chunk)
    },
  })
}

/** The bytes before the ciphertext: magic, header length, header. */
function prefixOf(header: BackupHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(json.length)
  return Buffer.concat([MAGIC, length, json])
}

/**
 * Encrypts the file `plain` into `destination` (created with mode 0600, never overwritten).
 *
 * @example
 *   await encryptBackup('/data/snapshot.tmp', '/backups/kw.bak', { rootKey, createdAt: new Date() })
 */
export async function encryptBackup(
  plain: string,
  destination: string,
  options: { rootKey: RootKey; createdAt: Date; onProgress?: ByteProgress },
): Promise<BackupHeader> {
  const fileKey = randomBytes(32)
  const iv = randomBytes(12)
  const header: BackupHeader = {
    format: FORMAT,
    version: VERSION,
    createdAt: options.createdAt.toISOString(),
    rootKeyFingerprint: options.rootKey.fingerprint,
    wrappedKey: (await options.rootKey.wrap(fileKey, FILE_KEY_CONTEXT)).toString('base64'),
    iv: iv.toString('base64'),
  }
  const prefix = prefixOf(header)
  const cipher = createCipheriv('aes-256-gcm', fileKey, iv)
  fileKey.fill(0)
  cipher.setAAD(prefix)
  // The prefix first, the tag last, once GCM has seen every byte.
  const frame = new Transform({
    construct(callback) {
      this.push(prefix)
      callback()
    },
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk)
    },
    flush(callback) {
      callback(null, cipher.getAuthTag())
    },
  })
  await pipeline(
    createReadStream(plain),
    counter(statSync(plain).size, options.onProgress),
    cipher,
    frame,
    // 'wx': an existing file is never replaced by a backup (it may be the only good one).
    createWriteStream(destination, { flags: 'wx', mode: 0o600 }),
  )
  return header
}

/** Reads and checks the header of a backup file; throws naming the file when it is not one. */
export function readBackupHeader(path: string): { header: BackupHeader; prefix: Buffer } {
  const fd = openSync(path, 'r')
  try {
    const start = Buffer.alloc(MAGIC.length + 4)
    const bad = () => new Error(`${path} is not a Keyward backup (or it is damaged).`)
    if (readSync(fd, start, 0, start.length, 0) !== start.length) throw bad()
    if (!start.subarray(0, MAGIC.length).equals(MAGIC)) throw bad()
    const length = start.readUInt32BE(MAGIC.length)
    if (length > MAX_HEADER_BYTES) throw bad()
    const json = Buffer.alloc(length)
    if (readSync(fd, json, 0, length, start.length) !== length) throw bad()
    let header: BackupHeader
    try {
      header = JSON.parse(json.toString('utf8')) as BackupHeader
    } catch {
      throw bad()
    }
    if (header.format !== FORMAT || header.version !== VERSION) {
      throw new Error(
        `${path}: unknown backup format ${String(header.format)} version ${String(header.version)}.`,
      )
    }
    return { header, prefix: Buffer.concat([start, json]) }
  } finally {
    closeSync(fd)
  }
}

/**
 * Decrypts the backup `path` into `destination` (a new file, mode 0600). The content is
 * authenticated only at the end: on any failure the caller must delete `destination`, which
 * is why it is never the final name.
 *
 * @throws Error naming the file: not a backup, another root key, changed or truncated
 * @example
 *   await decryptBackup('/backups/kw.bak', '/data/keyward.db.restoring', { rootKey })
 */
export async function decryptBackup(
  path: string,
  destination: string,
  options: { rootKey: RootKey; onProgress?: ByteProgress },
): Promise<BackupHeader> {
  const { header, prefix } = readBackupHeader(path)
  if (header.rootKeyFingerprint !== options.rootKey.fingerprint) {
    throw new Error(
      `${path} was made under another root key (fingerprint ${header.rootKeyFingerprint}; this one is ${options.rootKey.fingerprint}). Restore needs the root key the backup was made with.`,
    )
  }
  const size = statSync(path).size
  if (size < prefix.length + TAG_BYTES) throw new Error(`${path} is truncated.`)
  const tag = Buffer.alloc(TAG_BYTES)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES)
  } finally {
    closeSync(fd)
  }
  let fileKey: Buffer
  try {
    fileKey = await options.rootKey.unwrap(
      Buffer.from(header.wrappedKey, 'base64'),
      FILE_KEY_CONTEXT,
    )
  } catch {
    throw new Error(`${path}: its file key does not unwrap under this root key (changed file?).`)
  }
  const decipher = createDecipheriv('aes-256-gcm', fileKey, Buffer.from(header.iv, 'base64'))
  fileKey.fill(0)
  decipher.setAAD(prefix)
  decipher.setAuthTag(tag)
  const end = size - TAG_BYTES - 1
  try {
    await pipeline(
      // An empty database cannot be: at least one page lies between prefix and tag.
      createReadStream(path, { start: prefix.length, end }),
      counter(end + 1 - prefix.length, options.onProgress),
      decipher,
      createWriteStream(destination, { flags: 'wx', mode: 0o600 }),
    )
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error
    // GCM's tag check fails in final(): the file was changed, truncated or extended.
    throw new Error(`${path} does not authenticate: it was changed or damaged.`, { cause: error })
  }
  return header
}
