import { statSync } from 'node:fs'

/** What {@link assertPrivateFile} does with a file others can read. */
export interface PrivateFileOptions {
  /** The file names this setting or option (`--config`, `root key`), for the message. */
  readonly what: string
  /**
   * `--allow-insecure-permissions` (KEYWARD_ALLOW_INSECURE_PERMISSIONS=1): warn through
   * `warn` instead of refusing.
   */
  readonly allowInsecure?: boolean
  readonly warn?: (message: string) => void
}

/**
 * Refuses a secret-bearing file (the root key, the principals file with its secret access keys)
 * that its group or other users may read or write (mode & 0o077), the way ssh refuses a private
 * key that is "too open": anyone who can read root.key can unwrap every key in the database.
 * With `allowInsecure`, only warns. POSIX only: Windows has no such mode bits.
 *
 * @throws Error naming the file and the fix (`chmod 600 <file>`)
 * @example
 *   assertPrivateFile('/root/.keyward/root.key', { what: 'root key' })
 */
export function assertPrivateFile(path: string, options: PrivateFileOptions): void {
  if (process.platform === 'win32') return
  const mode = statSync(path).mode & 0o777
  if ((mode & 0o077) === 0) return
  const octal = mode.toString(8).padStart(4, '0')
  const problem = `The ${options.what} file ${path} can be read or written by other users (mode ${octal}); run: chmod 600 ${path}`
  if (!options.allowInsecure) {
    throw new Error(
      `${problem}. Refusing to start; --allow-insecure-permissions (KEYWARD_ALLOW_INSECURE_PERMISSIONS=1) starts anyway.`,
    )
  }
  options.warn?.(`${problem} (started anyway: --allow-insecure-permissions).`)
}
