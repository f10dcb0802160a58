import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { KMSClient } from '@aws-sdk/client-kms'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (this file runs as dist/test/support/cli-process.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** The `keyward` command as installed (bin/keyward.js, which runs dist/src/cli/main.js). */
export const KEYWARD_BIN = fileURLToPath(new URL('../../../bin/keyward.js', import.meta.url))

/** The environment for a child: this process's, without any KEYWARD_* setting, plus `env`. */
export function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KEYWARD_')),
  )
  return { ...clean, ...env }
}

/**
 * Runs `keyward <args>` to completion in the repository root, with {@link childEnv}.
 *
 * @example
 *   const r = runKeyward(['backup', file], { env: { KEYWARD_DATA_DIR: dir }, timeoutMs: 60_000 })
 *   assert.equal(r.status, 0, r.stderr)
 */
export function runKeyward(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs: number },
) {
  return spawnSync(process.execPath, [KEYWARD_BIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(options.env),
    encoding: 'utf8',
    timeout: options.timeoutMs,
  })
}

/** A `keyward serve` child process that has printed its listening line. */
export interface ServeProcess {
  readonly child: ChildProcess
  /** http://host:port as printed. */
  readonly url: string
  /** Everything printed so far. */
  stdout(): string
  stderr(): string
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Spawns `node bin/keyward.js serve <args>` and waits for "Keyward listening on <url>".
 * Rejects, with what the process printed, when it exits first or takes over `timeoutMs`.
 *
 * @example
 *   const kw = await startServe(['--dev', '--port', '0', '--data-dir', dir])
 *   kw.child.kill('SIGTERM'); await kw.exited
 */
export function startServe(
  args: readonly string[],
  options: {
    env?: Record<string, string>
    timeoutMs?: number
    /** An installed `keyward` executable to run instead of `node bin/keyward.js`. */
    bin?: string
    cwd?: string
  } = {},
): Promise<ServeProcess> {
  const [command, argv] = options.bin
    ? [options.bin, ['serve', ...args]]
    : [process.execPath, [KEYWARD_BIN, 'serve', ...args]]
  const child = spawn(command, argv, {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s))
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return new Promise((resolve, reject) => {
    // Generous: with --workers, each worker loads the whole server, and CI runs two test files
    // at once beside native-module compiles (the packaging test) on two cores.
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`keyward serve did not start in time.\nstdout: ${out}\nstderr: ${err}`))
    }, options.timeoutMs ?? 45_000)
    const onData = () => {
      const m = /Keyward listening on (http:\/\/\S+) /.exec(out)
      if (!m) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      resolve({ child, url: m[1]!, stdout: () => out, stderr: () => err, exited })
    }
    child.stdout!.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`keyward serve exited (${code ?? signal}).\nstdout: ${out}\nstderr: ${err}`))
    })
  })
}

/** Sends `signal` and waits for the exit. */
export async function stopServe(
  serve: ServeProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill(signal)
  return serve.exited
}

/**
 * What a CLI test file starts and must clean up: temporary data directories, `keyward serve`
 * processes and SDK clients. `cleanup()` (in `after`) kills what is left and removes the
 * directories.
 *
 * @example
 *   const box = serveSandbox('keyward-cli-')
 *   after(() => box.cleanup())
 *   const kw = await box.serve(['--dev', '--port', '0', '--data-dir', box.tempDir()])
 */
export function serveSandbox(prefix: string, options: { timeoutMs?: number } = {}) {
  const dirs: string[] = []
  const processes: ServeProcess[] = []
  const clients: { destroy(): void }[] = []
  return {
    tempDir: () => {
      const dir = mkdtempSync(join(tmpdir(), prefix))
      dirs.push(dir)
      return dir
    },
    serve: async (args: string[], env: Record<string, string> = {}) => {
      const p = await startServe(args, {
        env,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      })
      processes.push(p)
      return p
    },
    /** Destroys `client` at cleanup. */
    track: <C extends { destroy(): void }>(client: C): C => {
      clients.push(client)
      return client
    },
    /** A KMS client of a `--dev` server at `endpoint` (any credentials), destroyed at cleanup. */
    devClient: (endpoint: string): KMSClient => {
      const client = new KMSClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
        maxAttempts: 1,
      })
      clients.push(client)
      return client
    },
    cleanup: async () => {
      for (const c of clients) c.destroy()
      for (const p of processes) await stopServe(p, 'SIGKILL')
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
}
