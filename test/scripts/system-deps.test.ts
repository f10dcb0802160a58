import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { REPO_ROOT } from '../support/cli-process.js'

const SCRIPT = join(REPO_ROOT, 'scripts/system-deps.mjs')

/** Every TypeScript file under test/, relative to the repository root. */
function testSources(dir = 'test'): string[] {
  return readdirSync(join(REPO_ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(REPO_ROOT, path)).isDirectory()) return testSources(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

/**
 * Issue 10: test files installed softhsm2 with apt-get themselves, two at a time, and on a fresh
 * machine one of them failed on the dpkg lock. System packages are installed once, by
 * scripts/system-deps.mjs, before the runner starts.
 */
describe('system packages (scripts/system-deps.mjs)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'keyward-path-'))
  // A PATH with node and nothing else: softhsm2-util and openssl are "missing".
  symlinkSync(process.execPath, join(bin, 'node'))
  after(() => rmSync(bin, { recursive: true, force: true }))

  const check = (env: Record<string, string>) =>
    spawnSync(process.execPath, [SCRIPT, '--check'], {
      env: { PATH: bin, ...env },
      encoding: 'utf8',
    })

  it('npm test runs it before the build and the test runner', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    assert.match(pkg.scripts.test!, /^node scripts\/system-deps\.mjs && /)
  })

  it('no test spawns a package manager', () => {
    const offenders = testSources().filter((path) =>
      /['"`](apt-get|apt|dpkg|yum|dnf|apk)['"`]/.test(readFileSync(join(REPO_ROOT, path), 'utf8')),
    )
    assert.deepEqual(offenders, [])
  })

  it('prints what to install, and lets the tests skip, when it may not install', () => {
    const result = check({})
    assert.equal(result.status, 0)
    assert.equal(
      result.stderr,
      'system-deps: missing softhsm2, openssl; install with: apt-get install -y softhsm2 openssl\n' +
        'system-deps: the tests that need them are skipped\n',
    )
  })

  it('fails instead under CI, where a skipped test would hide lost coverage', () => {
    const result = check({ CI: 'true' })
    assert.equal(result.status, 1)
    assert.match(result.stderr, /CI is set, so this is an error rather than skipped tests/)
  })

  it('rejects an unknown group', () => {
    const result = spawnSync(process.execPath, [SCRIPT, 'docs'], { encoding: 'utf8' })
    assert.equal(result.status, 2)
    assert.equal(result.stderr, 'system-deps: unknown group docs (test, build, cli)\n')
  })
})
