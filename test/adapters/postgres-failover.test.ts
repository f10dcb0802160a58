import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import postgres from 'postgres'
import {
  createPostgresCluster,
  createStandby,
  postgresBinDir,
  type PostgresCluster,
} from '../support/postgres-cluster.js'
import { startNode, type TestNode } from '../support/postgres-nodes.js'

/**
 * Faults of the database under load (issue 13, "Faults"): a restart, and a failover from a
 * killed primary to its promoted hot standby. These tests make their own clusters from the
 * server binaries (KEYWARD_TEST_PG_BIN, set by scripts/test-postgres.mjs, or Debian's path).
 */
const BIN = postgresBinDir()
const SKIP = BIN
  ? false
  : 'no PostgreSQL server binaries (KEYWARD_TEST_PG_BIN or Debian postgresql)'

/** What a load loop saw: acknowledged work, and the errors answered meanwhile. */
interface Load {
  readonly acknowledged: Array<{ keyId: string; blob: Uint8Array; plaintext: string }>
  readonly errors: Map<string, number>
  /** performance.now() of each success. */
  readonly successes: number[]
  stop(): Promise<void>
}

/** CreateKey then Encrypt under it, over and over, until stopped. */
function runLoad(kms: KMSClient, name: string): Load {
  const load = {
    acknowledged: [] as Load['acknowledged'],
    errors: new Map<string, number>(),
    successes: [] as number[],
  }
  let stopped = false
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      try {
        const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
        const plaintext = `${name}-${i}`
        const { CiphertextBlob } = await kms.send(
          new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from(plaintext) }),
        )
        load.acknowledged.push({ keyId: KeyMetadata!.KeyId!, blob: CiphertextBlob!, plaintext })
        load.successes.push(performance.now())
      } catch (error) {
        // Grouped by name and message, without the request ID each carries.
        const message = (error as Error).message.replace(/Request ID: \S+/, 'Request ID: …')
        const key = `${(error as Error).name}: ${message}`
        load.errors.set(key, (load.errors.get(key) ?? 0) + 1)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  })()
  return {
    ...load,
    stop: async () => {
      stopped = true
      await loop
    },
  }
}

/** Waits until `load` has `count` more successes than now (or fails after `ms`). */
async function progress(load: Load, count: number, ms = 60_000): Promise<void> {
  const target = load.successes.length + count
  const started = performance.now()
  while (load.successes.length < target) {
    if (performance.now() - started > ms) {
      assert.fail(`no progress in ${ms} ms; errors: ${JSON.stringify([...load.errors])}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Every acknowledged key is there and every acknowledged ciphertext decrypts, on `kms`. */
async function assertIntact(kms: KMSClient, loads: readonly Load[]): Promise<number> {
  let checked = 0
  for (const load of loads) {
    for (const { keyId, blob, plaintext } of load.acknowledged) {
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
      assert.equal(KeyMetadata?.KeyId, keyId)
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: blob }))
      assert.equal(Buffer.from(Plaintext!).toString(), plaintext)
      checked++
    }
  }
  return checked
}

/** The errors a client may see while the database is away: retryable server errors only. */
function assertRetryableErrors(load: Load): void {
  for (const [error] of load.errors) {
    assert.match(
      error,
      /^KMSInternalException: /,
      'while the database is away, only KMSInternalException (HTTP 500, retried by SDKs)',
    )
  }
}

describe('PostgreSQL faults under load', { skip: SKIP, timeout: 300_000 }, () => {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve(cleanup()).catch(() => undefined)
  })

  it('answers a retryable error while the database restarts, then recovers by itself', async () => {
    const cluster = await createPostgresCluster({ bin: BIN as string })
    cleanups.push(() => cluster.destroy())
    const node = await startNode({ storeUrl: cluster.url })
    cleanups.push(() => node.close())
    const load = runLoad(node.client(), 'restart')
    cleanups.push(() => load.stop())
    await progress(load, 5)
    // An immediate stop is a crash of the server: no checkpoint, recovery from WAL on start.
    const downAt = performance.now()
    cluster.stop('immediate')
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    cluster.start()
    await progress(load, 5)
    await load.stop()
    const back = load.successes.find((t) => t > downAt + 1_500)!
    console.log(
      `restart: ${load.acknowledged.length} acknowledged, back ${(back - downAt).toFixed(0)} ms after the stop, errors ${JSON.stringify([...load.errors])}`,
    )
    assertRetryableErrors(load)
    assert.equal(await assertIntact(node.client(), [load]), load.acknowledged.length)
  })

  it('survives a failover: kill -9 of the primary, promotion of the hot standby, two nodes go on', async () => {
    const primary = await createPostgresCluster({ bin: BIN as string })
    cleanups.push(() => primary.destroy())
    const standby: PostgresCluster = await createStandby({ bin: BIN as string, primary })
    cleanups.push(() => standby.destroy())
    // Synchronous replication: a commit is acknowledged once the standby has it too, so
    // promoting the standby loses no acknowledged change (PostgreSQL docs, "Synchronous
    // Replication", 27.2.8). With asynchronous replication a failover may lose the last
    // commits, whatever the client does.
    const admin = postgres(primary.url, { max: 1, onnotice: () => undefined })
    await admin`alter system set synchronous_standby_names = '*'`
    await admin`select pg_reload_conf()`
    for (let i = 0; i < 100; i++) {
      const [row] =
        await admin`select count(*)::int as n from pg_stat_replication where sync_state = 'sync'`
      if (row?.n === 1) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await admin.end()

    const url = `postgres://keyward@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/postgres?target_session_attrs=read-write`
    const nodes: TestNode[] = []
    for (let i = 0; i < 2; i++) {
      const node = await startNode({ storeUrl: url })
      cleanups.push(() => node.close())
      nodes.push(node)
    }
    const loads = nodes.map((node, i) => runLoad(node.client(), `node${i}`))
    cleanups.push(() => Promise.all(loads.map((l) => l.stop())))
    for (const load of loads) await progress(load, 5)

    const killedAt = performance.now()
    process.kill(primary.pid()!, 'SIGKILL')
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    standby.promote()
    const promotedAt = performance.now()
    for (const load of loads) await progress(load, 5)
    await Promise.all(loads.map((l) => l.stop()))
    const gaps = loads.map((load) => {
      const before = load.successes.filter((t) => t < killedAt).at(-1)!
      const afterKill = load.successes.find((t) => t > killedAt)!
      return afterKill - before
    })
    console.log(
      `failover: promoted ${(promotedAt - killedAt).toFixed(0)} ms after kill -9; gap without a success per node: ${gaps.map((g) => `${g.toFixed(0)} ms`).join(', ')}; acknowledged ${loads.map((l) => l.acknowledged.length).join(' + ')}; errors ${JSON.stringify(loads.map((l) => [...l.errors]))}`,
    )
    for (const load of loads) assertRetryableErrors(load)
    // Every acknowledged key and ciphertext, made on either node before or after, on both.
    const total = loads.reduce((n, l) => n + l.acknowledged.length, 0)
    for (const node of nodes) assert.equal(await assertIntact(node.client(), loads), total)
  })
})
