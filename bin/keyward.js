#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli/main.ts (compiled to dist/ by `npm install`).
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
