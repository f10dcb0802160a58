#!/usr/bin/env node
// Builds the web console (console/, issue 16) into console/dist, which `keyward serve` serves
// at /console. Run by the root's `prepare` and `build`, so `npm install && npm start` in a
// clone still starts everything.
//
// console/ has its own package.json and lockfile (Vite, React, Headless UI, the browser
// build of @aws-sdk/client-kms), installed with `npm ci` from the npm registry, only when
// console/node_modules is missing or older than the lockfile: a rebuild needs no network.
// Nothing in the build fetches anything at run time; the page loads only files of its origin.
//
// KEYWARD_SKIP_CONSOLE=1 skips it (a server-only build; /console then says it is not built).
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const consoleDir = join(root, 'console')
if (process.env.KEYWARD_SKIP_CONSOLE === '1') {
  console.log('build-console: skipped (KEYWARD_SKIP_CONSOLE=1)')
  process.exit(0)
}
if (!existsSync(join(consoleDir, 'package.json'))) {
  // An installed package has console/dist but not its sources: nothing to build.
  process.exit(0)
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Runs npm with `args` in console/, stopping everything when it fails. */
function npmIn(args) {
  const result = spawnSync(npm, args, { cwd: consoleDir, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(
      `build-console: npm ${args.join(' ')} failed (exit ${result.status ?? result.signal})`,
    )
    process.exit(1)
  }
}

const installed = join(consoleDir, 'node_modules', '.package-lock.json')
const lock = join(consoleDir, 'package-lock.json')
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  npmIn(['ci', '--no-audit', '--no-fund'])
}
npmIn(['run', 'build'])
