import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { KEY_PAIR_OPERATIONS } from './operations.js'

/** The operations a crypto worker runs, by name (the typed table in src/crypto/index.ts). */
export type PoolOperation = keyof typeof KEY_PAIR_OPERATIONS
type Request<Op extends PoolOperation> = Parameters<(typeof KEY_PAIR_OPERATIONS)[Op]>[0]
type Result<Op extends PoolOperation> = ReturnType<(typeof KEY_PAIR_OPERATIONS)[Op]>

/** What goes to a worker and what comes back. */
export interface PoolTask {
  readonly id: number
  readonly op: PoolOperation
  readonly req: unknown
}
export type PoolReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
}

/** Structured clone turns Buffers into Uint8Arrays; the callers expect Buffers. */
export const asBuffer = (v: unknown): unknown =>
  v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.length) : v

/**
 * A fixed set of worker threads for the key-pair operations (sign, verify, encrypt, decrypt,
 * derive). Pure-JavaScript algorithms (ML-DSA, SM2, Ed25519ph, ECDSA over a digest) and
 * OpenSSL's synchronous private-key operations take milliseconds; on the event loop they would
 * delay every other request by as much. Tasks go to the worker with the fewest in flight.
 * An idle worker is unref'd, so an idle pool never keeps the process alive.
 */
export class CryptoPool {
  readonly #workers: Array<{ worker: Worker; inFlight: number }> = []
  readonly #pending = new Map<number, Pending & { slot: { inFlight: number } }>()
  #nextId = 0

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.#spawn()
  }

  #spawn(): void {
    const worker = new Worker(new URL('./pool-worker.js', import.meta.url))
    const slot = { worker, inFlight: 0 }
    this.#workers.push(slot)
    worker.on('message', (reply: PoolReply) => {
      const pending = this.#pending.get(reply.id)
      if (!pending) return
      this.#pending.delete(reply.id)
      if (--pending.slot.inFlight === 0) slot.worker.unref()
      if (reply.ok) pending.resolve(asBuffer(reply.value))
      else pending.reject(new Error(`crypto worker: ${reply.error}`))
    })
    worker.on('error', (error) => this.#fail(slot, error))
    worker.on('exit', (code) => this.#fail(slot, new Error(`crypto worker exited (${code})`)))
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref()
  }

  /** A worker that died fails its tasks (they answer KMSInternalException) and is replaced. */
  #fail(slot: { worker: Worker; inFlight: number }, error: Error): void {
    const index = this.#workers.indexOf(slot)
    if (index < 0) return
    this.#workers.splice(index, 1)
    for (const [id, pending] of this.#pending) {
      if (pending.slot === slot) {
        this.#pending.delete(id)
        pending.reject(error)
      }
    }
    if (!this.#closed) this.#spawn()
  }

  #closed = false

  /** Runs one operation on the least busy worker. */
  run<Op extends PoolOperation>(op: Op, req: Request<Op>): Promise<Result<Op>> {
    const slot = this.#workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
    const id = this.#nextId++
    // A worker holds the process open only while it has work (a pending task must finish).
    if (slot.inFlight++ === 0) slot.worker.ref()
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, slot })
      const task: PoolTask = { id, op, req }
      slot.worker.postMessage(task)
    })
  }

  /** Stops the workers; tasks still running fail. */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#workers.map((s) => s.worker.terminate()))
  }
}

let shared: CryptoPool | undefined

/**
 * The process's crypto pool, started on first use with one worker per core (at least 2, at most
 * 4: the event loop keeps a core of its own on small machines).
 */
export function cryptoPool(): CryptoPool {
  shared ??= new CryptoPool(Math.max(2, Math.min(4, availableParallelism())))
  return shared
}
