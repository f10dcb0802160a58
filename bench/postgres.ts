import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createPostgresCluster,
  postgresBinDir,
  type PostgresCluster,
} from '../test/support/postgres-cluster.js'
import { runLoad, type LoadResult } from './load.js'
import { startServer, type ServerProcess } from './processes.js'
import { callKms, type BenchPartOptions, type KmsCall } from './signing.js'

/**
 * The PostgreSQL part of `npm run bench` (BENCH_STORE=postgres; issue 13): Encrypt of 1 KB on
 * one key over SQLite and over PostgreSQL in the same run (the hot path reads memory, so the
 * target is ≥ 0.9× SQLite), CreateKey per second on both (a committed write each), and two
 * nodes over one PostgreSQL at once (their total). Every Keyward is one `keyward serve`
 * process; the database is BENCH_PG_URL, or a throwaway cluster made here with fsync on (as
 * a real server runs). On a two-core machine two nodes, the database and the load generator
 * share the same cores: the total is bounded by them, not by Keyward.
 */

const PLAINTEXT = Buffer.alloc(1024, 'keyward-pg-bench-').toString('base64')
const ROOT_KEY = Buffer.alloc(32, 5).toString('base64')

/** One data directory with a principals file that turns request quotas off. */
function dataDir(parent: string, name: string): string {
  const dir = join(parent, name)
  mkdirSync(dir, { mode: 0o700 })
  // CreateKey's request quota (5/s, as AWS) would measure the quota, not the store.
  writeFileSync(
    join(dir, 'principals.json'),
    JSON.stringify({ accounts: [], quotas: { requestRates: false } }),
    { mode: 0o600 },
  )
  return dir
}

const line = (label: string, r: LoadResult) =>
  `  ${label.padEnd(34)} ${r.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  failed ${r.failed}`

/**
 * Runs the comparison and prints it; returns false when a request failed.
 *
 * @example
 *   await benchPostgres({ env: keywardEnv, keywardBin, credentials, seconds: 10, warmupSeconds: 2, connections: 32 })
 */
export async function benchPostgres(options: BenchPartOptions): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-pg-'))
  let cluster: PostgresCluster | undefined
  const servers: ServerProcess[] = []
  try {
    let url = process.env.BENCH_PG_URL
    if (!url) {
      const bin = postgresBinDir()
      if (!bin) throw new Error('BENCH_STORE=postgres needs BENCH_PG_URL or postgresql installed')
      cluster = await createPostgresCluster({ bin, durable: true })
      url = cluster.url
    }
    const env = { ...options.env(), KEYWARD_ROOT_KEY: ROOT_KEY }
    const serve = async (name: string, store?: string) => {
      const args = ['serve', '--host', '127.0.0.1', '--port', '0']
      const server = await startServer(
        [
          options.keywardBin,
          ...args,
          '--data-dir',
          dataDir(dir, name),
          ...(store ? ['--store', store] : []),
        ],
        { ready: /listening on (http:\/\/\S+)/, env },
      )
      servers.push(server)
      return server
    }
    const sqlite = await serve('sqlite')
    const nodeA = await serve('pg-a', url)
    const nodeB = await serve('pg-b', url)
    const call = (endpoint: string, op: string, body: object): KmsCall => ({
      endpoint,
      target: `TrentService.${op}`,
      body: JSON.stringify(body),
      credentials: options.credentials,
    })
    const keyOn = async (endpoint: string) =>
      ((await callKms(call(endpoint, 'CreateKey', {}))).KeyMetadata as { KeyId: string }).KeyId
    const measure = async (c: KmsCall, connections = options.connections) => {
      if (options.warmupSeconds > 0) {
        await runLoad(c, { connections, seconds: options.warmupSeconds })
      }
      return runLoad(c, { connections, seconds: options.seconds })
    }
    const encryptOn = async (endpoint: string) =>
      call(endpoint, 'Encrypt', { KeyId: await keyOn(endpoint), Plaintext: PLAINTEXT })

    const results: Array<[string, LoadResult]> = []
    results.push(['Encrypt, SQLite', await measure(await encryptOn(sqlite.url))])
    results.push(['Encrypt, PostgreSQL (1 node)', await measure(await encryptOn(nodeA.url))])
    const sharedKey = await keyOn(nodeA.url)
    const both = await Promise.all(
      [nodeA, nodeB].map((node) =>
        measure(
          call(node.url, 'Encrypt', { KeyId: sharedKey, Plaintext: PLAINTEXT }),
          Math.max(1, Math.floor(options.connections / 2)),
        ),
      ),
    )
    results.push(['Encrypt, PostgreSQL node A of 2', both[0]!])
    results.push(['Encrypt, PostgreSQL node B of 2', both[1]!])
    results.push(['CreateKey, SQLite', await measure(call(sqlite.url, 'CreateKey', {}), 8)])
    results.push(['CreateKey, PostgreSQL', await measure(call(nodeA.url, 'CreateKey', {}), 8)])

    console.log(
      `\nPostgreSQL store (${cluster ? 'throwaway cluster, fsync on' : 'BENCH_PG_URL'}), Encrypt of 1 KB at ${options.connections} connections (split over the two nodes), CreateKey at 8:`,
    )
    for (const [label, r] of results) console.log(line(label, r))
    const rate = (i: number) => results[i]![1].requestsPerSecond
    console.log(
      `  Encrypt over PostgreSQL: ${((100 * rate(1)) / rate(0)).toFixed(1)} % of SQLite's rate (target ≥ 90 %); two nodes together ${(rate(2) + rate(3)).toFixed(0)} req/s (bounded by this machine's cores, shared with the database and the load generator)`,
    )
    console.log(
      `  CreateKey over PostgreSQL: ${((100 * rate(5)) / rate(4)).toFixed(1)} % of SQLite's rate`,
    )
    return results.every(([, r]) => r.failed === 0)
  } catch (error) {
    for (const s of servers)
      console.error(`--- ${s.child.spawnargs.slice(1, 3).join(' ')}:\n${s.tail()}`)
    throw error
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    cluster?.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}
