import cluster, { type Worker } from 'node:cluster'

/**
 * `keyward serve --workers N`: N processes share the listening socket (node:cluster) and one
 * SQLite database, so a 2-core machine can use both cores for requests.
 *
 * The primary does the first-start work once (principals file, root key file, migrations) before
 * forking, so workers never race to create them; it then only supervises: a worker that dies is
 * replaced, SIGTERM/SIGINT are passed on so in-flight requests finish, and SIGHUP is passed on so
 * each worker rereads the principals file. The primary holds the data directory's lock
 * (keyward.lock) for them all. Worker 0 alone runs the scheduler. Caches stay coherent through
 * the store's commitsByOthers() marker (SQLite's data_version), checked before every cache hit.
 */

/** The environment variable that tells a worker its index. */
export const WORKER_INDEX_ENV = 'KEYWARD_WORKER_INDEX'

/** What a worker tells the primary once it listens. */
export interface ListeningMessage {
  readonly type: 'keyward:listening'
  readonly url: string
}

/** True in a process forked by {@link superviseWorkers}. */
export const isWorker = (): boolean => cluster.isWorker

/** This worker's index (0 … N-1); 0 outside a cluster. */
export const workerIndex = (env: NodeJS.ProcessEnv): number => Number(env[WORKER_INDEX_ENV] ?? 0)

/** Tells the primary that this worker listens on `url`. */
export function reportListening(url: string): void {
  const message: ListeningMessage = { type: 'keyward:listening', url }
  process.send?.(message)
}

const isListening = (m: unknown): m is ListeningMessage =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'keyward:listening'

/**
 * Forks `count` workers running the same command line, resolves with the URL once all of them
 * listen, and keeps them running until SIGTERM or SIGINT; then stops them and resolves `done`.
 *
 * @example
 *   const { url, done } = await superviseWorkers(2)
 */
export function superviseWorkers(count: number): Promise<{ url: string; done: Promise<void> }> {
  const workers = new Map<number, Worker>()
  const listening = new Set<number>()
  let stopping = false
  let resolveDone: () => void = () => undefined
  const done = new Promise<void>((resolve) => (resolveDone = resolve))
  let started: { resolve: (url: string) => void; reject: (e: Error) => void }

  // Each worker rereads the principals file itself: the primary serves nothing.
  const hangup = () => {
    for (const worker of workers.values()) worker.process.kill('SIGHUP')
  }
  const stop = () => {
    if (stopping) return
    stopping = true
    process.off('SIGTERM', stop)
    process.off('SIGINT', stop)
    process.off('SIGHUP', hangup)
    if (workers.size === 0) resolveDone()
    for (const worker of workers.values()) worker.process.kill('SIGTERM')
  }

  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) })
    workers.set(index, worker)
    worker.on('message', (message: unknown) => {
      if (!isListening(message) || listening.has(index)) return
      listening.add(index)
      if (listening.size === count) started.resolve(message.url)
    })
    worker.on('exit', (code, signal) => {
      workers.delete(index)
      if (stopping) {
        if (workers.size === 0) resolveDone()
      } else if (listening.size < count) {
        // A worker that cannot start (port taken, bad data dir) will not do better on retry.
        stop()
        started.reject(new Error(`worker ${index} exited with code ${code} while starting`))
      } else {
        console.error(
          JSON.stringify({
            level: 'error',
            message: 'worker died; replacing it',
            index,
            code,
            signal,
          }),
        )
        fork(index)
      }
    })
  }

  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', hangup)
  return new Promise((resolve, reject) => {
    started = { resolve: (url) => resolve({ url, done }), reject }
    for (let index = 0; index < count; index++) fork(index)
  })
}
