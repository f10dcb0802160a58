import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * The `openssl` command line (OpenSSL 3.0 here) as an independent implementation to check
 * Keyward's cryptography against: a test hands it only what a KMS client would have (the
 * GetPublicKey DER, a signature, a ciphertext) as files.
 */
export const OPENSSL = process.env.OPENSSL ?? 'openssl'

/** A scratch directory for one test file; remove() when done. */
export class OpenSslWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'keyward-openssl-'))
  #n = 0

  /** Writes `bytes` to a fresh file and returns its path. */
  file(bytes: Uint8Array | string): string {
    const path = join(this.dir, `f${this.#n++}`)
    writeFileSync(path, bytes)
    return path
  }

  /** A fresh path for openssl to write. */
  output(): string {
    return join(this.dir, `o${this.#n++}`)
  }

  /**
   * Runs openssl; returns whether it exited 0 and its standard output.
   *
   * @example
   *   ws.run(['pkeyutl', '-verify', ...]).ok
   */
  run(args: string[]): { ok: boolean; stdout: Buffer } {
    try {
      return {
        ok: true,
        stdout: execFileSync(OPENSSL, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
      }
    } catch {
      return { ok: false, stdout: Buffer.alloc(0) }
    }
  }

  /** Runs openssl, which must succeed, and returns the bytes it wrote to `-out`. */
  produce(args: string[]): Buffer {
    const out = this.output()
    execFileSync(OPENSSL, [...args, '-out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
    return readFileSync(out)
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
