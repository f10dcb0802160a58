#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli/main.ts (compiled to dist/ by `npm install`).
// Installed globally, npm links <prefix>/bin/keyward to this file; node resolves a symlinked
// main module to its real path (unless --preserve-symlinks-main), so the relative import below
// finds the package's own dist/ (test/packaging/npm-pack.test.ts runs it that way).
import { main } from '../dist/src/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  },
)
