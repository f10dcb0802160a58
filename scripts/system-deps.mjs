#!/usr/bin/env node
// Installs the system packages Keyward's build and checks need, once, before anything runs.
//
// Usage: node scripts/system-deps.mjs [test] [build] [cli] [--check]
//   test   (the default) what `npm test` uses: softhsm2 (the PKCS#11 token of the HSM and
//          custom key store tests), openssl (an independent implementation to compare with),
//          chromium (the browser of the web console's end-to-end test)
//          and postgresql (the server binaries the PostgreSQL adapter's tests run clusters of)
//   build  python3, make and g++: better-sqlite3 and pkcs11js are compiled from source
//   cli    awscli (v2, Debian's package) for `npm run test:cli`
//   --check  only report; never install
//
// As root on Debian/Ubuntu it installs what is missing with apt-get, refreshing the package
// index first only when a package has no install candidate. Everyone else gets the command
// to run, and the tests that need a missing package skip with that reason (see
// test/support/softhsm.ts) — unless CI is set: a skip in CI would hide lost coverage.
//
// This runs in one step before the test runner starts, never from inside a test: the runner
// runs two test files at a time, and two apt-get processes race for the dpkg lock (the
// second fails and its tests are cancelled). DPkg::Lock::Timeout makes us wait, up to two
// minutes, for an apt-get someone else started (apt.conf(5), apt 1.9.11+).
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Debian's SoftHSMv2 module; test/support/softhsm.ts loads the same path. */
const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so'

/** True when an executable called `name` is on PATH. */
function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** Every system package we know of: the Debian package, its group, and how to see it is there. */
const PACKAGES = [
  {
    name: 'softhsm2',
    group: 'test',
    present: () => existsSync(SOFTHSM_MODULE) && onPath('softhsm2-util'),
  },
  { name: 'openssl', group: 'test', present: () => onPath('openssl') },
  // Debian's browser drives the console's end-to-end test (test/console/); playwright-core
  // never downloads a browser of its own.
  { name: 'chromium', group: 'test', present: () => existsSync('/usr/bin/chromium') },
  // The PostgreSQL adapter's tests start throwaway clusters (scripts/test-postgres.mjs).
  {
    name: 'postgresql',
    group: 'test',
    present: () => existsSync('/usr/lib/postgresql/15/bin/pg_ctl') || onPath('pg_ctl'),
  },
  { name: 'python3', group: 'build', present: () => onPath('python3') },
  { name: 'make', group: 'build', present: () => onPath('make') },
  { name: 'g++', group: 'build', present: () => onPath('g++') },
  // Debian's awscli is v2; a v1 elsewhere on PATH does not count, cli-e2e.sh runs both.
  { name: 'awscli', group: 'cli', present: () => existsSync('/usr/bin/aws') },
]

const GROUPS = new Set(['test', 'build', 'cli'])
const args = process.argv.slice(2)
const checkOnly = args.includes('--check')
const groups = args.filter((a) => a !== '--check')
for (const g of groups) {
  if (!GROUPS.has(g)) {
    console.error(`system-deps: unknown group ${g} (test, build, cli)`)
    process.exit(2)
  }
}
if (groups.length === 0) groups.push('test')

const missing = PACKAGES.filter((p) => groups.includes(p.group) && !p.present()).map((p) => p.name)
if (missing.length === 0) process.exit(0)

const command = `apt-get install -y ${missing.join(' ')}`
const isRoot = process.getuid?.() === 0
if (checkOnly || !isRoot || !onPath('apt-get')) {
  const why = checkOnly ? '' : isRoot ? ' (no apt-get here)' : ' (not root)'
  console.error(`system-deps: missing ${missing.join(', ')}${why}; install with: ${command}`)
  if (process.env.CI) {
    console.error('system-deps: CI is set, so this is an error rather than skipped tests')
    process.exit(1)
  }
  console.error('system-deps: the tests that need them are skipped')
  process.exit(0)
}

const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
const APT_OPTIONS = ['-o', 'DPkg::Lock::Timeout=120']

/** Runs apt-get (its output goes to ours) and stops everything when it fails. */
function aptGet(...rest) {
  console.log(`system-deps: apt-get ${rest.join(' ')}`)
  const result = spawnSync('apt-get', [...APT_OPTIONS, ...rest], { stdio: 'inherit', env })
  if (result.status !== 0) {
    console.error(`system-deps: apt-get ${rest[0]} failed (exit ${result.status ?? result.signal})`)
    process.exit(1)
  }
}

/**
 * True when apt knows an install candidate for every package: a fresh image ships with no
 * package lists, and then `apt-get install` fails with "Unable to locate package".
 */
function candidatesKnown(names) {
  const result = spawnSync('apt-cache', ['policy', ...names], { encoding: 'utf8', env })
  if (result.status !== 0) return false
  const blocks = result.stdout.split(/\n(?=\S)/).filter((b) => b.trim() !== '')
  return blocks.length === names.length && blocks.every((b) => /Candidate: (?!\(none\))\S+/.test(b))
}

console.log(`system-deps: installing ${missing.join(', ')}`)
if (!candidatesKnown(missing)) aptGet('update')
aptGet('install', '-y', '--no-install-recommends', ...missing)
const still = PACKAGES.filter((p) => missing.includes(p.name) && !p.present()).map((p) => p.name)
if (still.length > 0) {
  console.error(`system-deps: still missing after apt-get: ${still.join(', ')}`)
  process.exit(1)
}
