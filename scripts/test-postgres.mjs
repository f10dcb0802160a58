#!/usr/bin/env node
// Runs a command (the test runner) with a throwaway PostgreSQL cluster for the PostgreSQL
// tests, started once for the whole run and removed after it.
//
// Usage: node scripts/test-postgres.mjs <command> [args ...]
//
// When KEYWARD_TEST_PG is set, the command runs against that server and nothing is started.
// Otherwise, when Debian's postgresql server binaries are there (scripts/system-deps.mjs
// installs the package), a cluster is initialised in a temporary directory on a free loopback
// port (test/support/postgres-cluster.ts, compiled to dist/ by the build that precedes this),
// and the command gets KEYWARD_TEST_PG (its URL) and KEYWARD_TEST_PG_BIN (the binaries, for
// the failover tests' own clusters). Without the binaries the PostgreSQL tests skip, naming
// why — unless CI is set: a skip in CI would hide lost coverage.
import { spawnSync } from 'node:child_process'

const command = process.argv.slice(2)
if (command.length === 0) {
  console.error('usage: node scripts/test-postgres.mjs <command> [args ...]')
  process.exit(2)
}

const run = (env) => {
  const result = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env })
  return result.status ?? 1
}

if (process.env.KEYWARD_TEST_PG) process.exit(run(process.env))

const { createPostgresCluster, postgresBinDir } =
  await import('../dist/test/support/postgres-cluster.js')
const bin = postgresBinDir()
if (!bin) {
  console.error('test-postgres: no PostgreSQL server binaries (apt-get install postgresql)')
  if (process.env.CI) process.exit(1)
  console.error('test-postgres: the PostgreSQL tests are skipped')
  process.exit(run(process.env))
}

const cluster = await createPostgresCluster({ bin })
console.log(`test-postgres: cluster on 127.0.0.1:${cluster.port} (${cluster.dataDir})`)
let status = 1
const stop = () => {
  try {
    cluster.destroy()
  } catch (error) {
    console.error(`test-postgres: could not remove the cluster: ${error}`)
  }
}
process.on('SIGINT', () => {
  stop()
  process.exit(130)
})
try {
  status = run({ ...process.env, KEYWARD_TEST_PG: cluster.url, KEYWARD_TEST_PG_BIN: bin })
} finally {
  stop()
}
process.exit(status)
