#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [substring ...]   (only files whose path contains one)
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = 'dist/test'
const files = []
const sourceOf = (compiled) => compiled.replace(/^dist\//, '').replace(/\.js$/, '.ts')
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    // A compiled test whose source was moved or deleted stays in dist/ (tsc removes nothing):
    // it is not run, so a local run counts the same tests as a clean clone.
    else if (name.endsWith('.test.js') && existsSync(sourceOf(path))) files.push(path)
  }
}
walk(root)
const filters = process.argv.slice(2)
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files
if (selected.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
