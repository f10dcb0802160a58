import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Throwaway PostgreSQL clusters for tests, made with the server binaries of Debian's
 * `postgresql` package (`initdb`, `pg_ctl`, `pg_basebackup`) in a temporary directory, on a
 * free loopback port, trusting local connections. scripts/test-postgres.mjs starts one for a
 * whole `npm test` run; the failover tests start their own primary and standby in before().
 * Nothing here installs anything: a missing binary is reported to the caller.
 */

/** Where Debian's postgresql-15 puts its server binaries. */
export const DEBIAN_PG_BIN = '/usr/lib/postgresql/15/bin'

/** The directory of the server binaries: KEYWARD_TEST_PG_BIN, or Debian's when it exists. */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.KEYWARD_TEST_PG_BIN || DEBIAN_PG_BIN
  return existsSync(join(dir, 'pg_ctl')) ? dir : undefined
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** One running (or stopped) cluster. */
export interface PostgresCluster {
  readonly port: number
  readonly dataDir: string
  /** postgres://keyward@127.0.0.1:<port>/postgres */
  readonly url: string
  /** The postmaster's process ID while it runs (read from postmaster.pid). */
  pid(): number | undefined
  start(): void
  /**
   * `pg_ctl stop`: `fast` (the default) shuts down cleanly; `immediate` is a crash, recovered
   * from the WAL on the next start. Ignored when already stopped.
   */
  stop(mode?: 'fast' | 'immediate'): void
  /** `pg_ctl promote` (a standby becomes a primary). */
  promote(): void
  /** Stops the cluster (immediately) and removes its directory. */
  destroy(): void
}

/**
 * initdb refuses to run as root ("cannot be run as root"), and so does the server: as root,
 * every command runs as the `postgres` user that Debian's package creates, with runuser.
 */
function runAs(bin: string, args: readonly string[], options: { owner?: string } = {}): string {
  const asRoot = process.getuid?.() === 0
  const [file, argv] = asRoot
    ? ['runuser', ['-u', options.owner ?? 'postgres', '--', bin, ...args]]
    : [bin, [...args]]
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** A temporary directory the postgres user owns (mode 0700, as the server requires). */
function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o700)
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  return dir
}

function clusterAt(bin: string, dir: string, port: number): PostgresCluster {
  const dataDir = join(dir, 'data')
  const pgCtl = join(bin, 'pg_ctl')
  const log = join(dir, 'server.log')
  const running = () =>
    spawnSync(
      process.getuid?.() === 0 ? 'runuser' : pgCtl,
      process.getuid?.() === 0
        ? ['-u', 'postgres', '--', pgCtl, 'status', '-D', dataDir]
        : ['status', '-D', dataDir],
    ).status === 0
  const cluster: PostgresCluster = {
    port,
    dataDir,
    url: `postgres://keyward@127.0.0.1:${port}/postgres`,
    pid: () => {
      try {
        const text = execFileSync('cat', [join(dataDir, 'postmaster.pid')], { encoding: 'utf8' })
        const pid = Number(text.split('\n')[0])
        return Number.isInteger(pid) && pid > 0 ? pid : undefined
      } catch {
        return undefined
      }
    },
    start: () => {
      // -k: the Unix socket goes in the cluster's own directory, not /var/run/postgresql.
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`
      runAs(pgCtl, ['start', '-w', '-t', '60', '-D', dataDir, '-l', log, '-o', options])
    },
    stop: (mode = 'fast') => {
      if (running()) runAs(pgCtl, ['stop', '-w', '-m', mode, '-D', dataDir])
    },
    promote: () => {
      runAs(pgCtl, ['promote', '-w', '-D', dataDir])
    },
    destroy: () => {
      if (running()) {
        spawnSync(process.getuid?.() === 0 ? 'runuser' : pgCtl, [
          ...(process.getuid?.() === 0 ? ['-u', 'postgres', '--', pgCtl] : []),
          'stop',
          '-w',
          '-m',
          'immediate',
          '-D',
          dataDir,
        ])
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return cluster
}

/** Settings of every test cluster (postgresql.conf, appended). */
const TEST_SETTINGS = [
  // Replication for the failover tests' standby (pg_basebackup -R).
  'wal_level = replica',
  'max_wal_senders = 5',
  'hot_standby = on',
  'max_connections = 200',
  // The contract suite creates a schema per test and many nodes connect at once.
  'shared_buffers = 32MB',
  // Throwaway clusters: an fsync per commit buys nothing when the directory is deleted after
  // the run, and costs the shared two-core machine a lot. synchronous_commit stays on (the
  // adapter refuses to run without it); only the OS-level flush is skipped.
  'fsync = off',
  'full_page_writes = off',
].join('\n')

/**
 * initdb and start a new primary on a free loopback port; user `keyward` is the superuser,
 * every local connection is trusted.
 *
 * @example
 *   const cluster = await createPostgresCluster({ bin: postgresBinDir()! })
 *   try { ... cluster.url ... } finally { cluster.destroy() }
 */
export async function createPostgresCluster(options: {
  readonly bin: string
  readonly port?: number
  /** Keep fsync and full-page writes on, as a real server runs (benchmarks). */
  readonly durable?: boolean
}): Promise<PostgresCluster> {
  const dir = ownedTempDir('keyward-pg-')
  const port = options.port ?? (await freePort())
  const dataDir = join(dir, 'data')
  try {
    runAs(join(options.bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'keyward',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ])
    const conf = join(dataDir, 'postgresql.conf')
    const settings = options.durable
      ? TEST_SETTINGS.split('\n')
          .filter((l) => !/^(fsync|full_page_writes) =/.test(l))
          .join('\n')
      : TEST_SETTINGS
    writeFileSync(conf, `\n${settings}\n`, { flag: 'a' })
    // pg_hba: trust replication connections from loopback too (pg_basebackup).
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      'local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n',
      { flag: 'a' },
    )
    const cluster = clusterAt(options.bin, dir, port)
    cluster.start()
    return cluster
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * A hot standby of `primary`: pg_basebackup -R (streaming replication, standby.signal and
 * primary_conninfo written for us), started on a free port.
 */
export async function createStandby(options: {
  readonly bin: string
  readonly primary: PostgresCluster
}): Promise<PostgresCluster> {
  const dir = ownedTempDir('keyward-pg-standby-')
  const port = await freePort()
  try {
    runAs(join(options.bin, 'pg_basebackup'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(options.primary.port),
      '-U',
      'keyward',
      '-D',
      join(dir, 'data'),
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ])
    const cluster = clusterAt(options.bin, dir, port)
    cluster.start()
    return cluster
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}
