import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** A server started as a child process, with the URL it printed. */
export interface ServerProcess {
  readonly url: string
  readonly child: ChildProcess
  /** The last lines it wrote, for error reports. */
  tail(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>
}

const TAIL_LINES = 40

/**
 * Spawns `node <args>` and waits until a stdout line matches `ready` (its first group is the
 * URL). Output is drained into a short ring buffer so a chatty child never blocks on a full
 * pipe.
 *
 * @example
 *   const s = await startServer(['dist/bench/baseline-server.js'], { ready: /listening on (\S+)/ })
 *   await s.stop()
 */
export function startServer(
  args: readonly string[],
  options: {
    ready: RegExp
    env?: NodeJS.ProcessEnv
    nodeOptions?: readonly string[]
    timeoutMs?: number
  },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), ...args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line) lines.push(line)
    }
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES)
  }
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }
  const tail = () => lines.join('\n')
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(1000)
      reject(
        new Error(
          `${args.join(' ')} did not start within ${options.timeoutMs ?? 30_000} ms\n${tail()}`,
        ),
      )
    }, options.timeoutMs ?? 30_000)
    let seen = ''
    let ready = false
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk)
      if (ready) return
      seen += chunk.toString('utf8')
      const match = options.ready.exec(seen)
      if (match?.[1]) {
        ready = true
        clearTimeout(timer)
        resolve({ url: match[1], child, tail, stop })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready\n${tail()}`))
    })
  })
}

let ticksPerSecond: number | undefined

/**
 * CPU time (user + system, seconds) a process has used so far, from /proc/<pid>/stat (Linux);
 * undefined elsewhere. Less sensitive to other load on the machine than requests/s.
 *
 * @example
 *   const before = cpuSeconds(child.pid!)
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const own = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
    // Worker processes (`keyward serve --workers N`) are children of the measured process.
    return own + childPids(pid).reduce((sum, child) => sum + (cpuSeconds(child) ?? 0), 0)
  } catch {
    return undefined
  }
}

/** The live child processes of `pid`, from /proc/<pid>/task/<tid>/children. */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number),
    )
  } catch {
    return []
  }
}

/**
 * Waits until process `pid` (with its children) is idle: less than `maxBusyMs` of CPU in each of
 * two consecutive `windowMs` windows, or `timeoutMs` has passed. A fresh Keyward compiles its
 * request validators in the background after it starts listening; on a machine busy with other
 * work that takes many seconds of wall time, and a measurement that started before it ended
 * would charge the compilation to the requests.
 *
 * @example
 *   await waitUntilIdle(keyward.child.pid!)
 */
export async function waitUntilIdle(
  pid: number,
  options: { windowMs?: number; maxBusyMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const windowMs = options.windowMs ?? 500
  const maxBusyMs = options.maxBusyMs ?? 10
  const end = Date.now() + (options.timeoutMs ?? 60_000)
  let quiet = 0
  let before = cpuSeconds(pid)
  while (before !== undefined && quiet < 2 && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, windowMs))
    const after = cpuSeconds(pid)
    if (after === undefined) return
    quiet = (after - before) * 1000 < maxBusyMs ? quiet + 1 : 0
    before = after
  }
}
