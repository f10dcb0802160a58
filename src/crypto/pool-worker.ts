import { parentPort } from 'node:worker_threads'
import { KEY_PAIR_OPERATIONS } from './operations.js'
import { asBuffer, type PoolReply, type PoolTask } from './pool.js'

/**
 * A crypto worker thread (see pool.ts): runs the named operation from the typed table and
 * answers. Buffers arrive as Uint8Arrays and are turned back into Buffers; each distinct key
 * keeps one Buffer identity, so the KeyObject memo of key-objects.ts works across tasks.
 */
const canonical = new Map<string, Buffer>()

function keyBuffer(v: unknown): unknown {
  const b = asBuffer(v)
  if (!Buffer.isBuffer(b)) return b
  const id = b.toString('base64')
  let kept = canonical.get(id)
  if (!kept) {
    if (canonical.size > 10_000) canonical.clear()
    kept = b
    canonical.set(id, kept)
  }
  return kept
}

const KEY_FIELDS = new Set(['privateKey', 'publicKey'])

function revive(req: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(req)) out[k] = KEY_FIELDS.has(k) ? keyBuffer(v) : asBuffer(v)
  return out
}

parentPort?.on('message', (task: PoolTask) => {
  let reply: PoolReply
  try {
    const run = KEY_PAIR_OPERATIONS[task.op] as (req: unknown) => unknown
    reply = { id: task.id, ok: true, value: run(revive(task.req as Record<string, unknown>)) }
  } catch (error) {
    // Only the error's class name crosses back: the message could quote key material.
    reply = { id: task.id, ok: false, error: error instanceof Error ? error.name : 'error' }
  }
  parentPort?.postMessage(reply)
})
