import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { progressLine } from '../../src/cli/progress.js'

describe('progressLine', () => {
  it('redraws one line when the percentage moves, and ends it with a newline', () => {
    const out: string[] = []
    const progress = progressLine({ enabled: true, write: (t) => out.push(t) })
    progress.update('snapshot', { done: 1, total: 200, unit: 'pages' })
    progress.update('snapshot', { done: 2, total: 200, unit: 'pages' }) // 1 %: redrawn
    progress.update('snapshot', { done: 3, total: 200, unit: 'pages' }) // still 1 %: not
    progress.update('snapshot', { done: 100, total: 200, unit: 'pages' })
    progress.update('snapshot', { done: 200, total: 200, unit: 'pages' })
    progress.done()
    assert.deepEqual(out, [
      '\r\x1b[2Ksnapshot: 1/200 pages (0%)',
      '\r\x1b[2Ksnapshot: 2/200 pages (1%)',
      '\r\x1b[2Ksnapshot: 100/200 pages (50%)',
      '\r\x1b[2Ksnapshot: 200/200 pages (100%)',
      '\n',
    ])
  })

  it('writes nothing when disabled (not a terminal, or --json)', () => {
    const out: string[] = []
    const progress = progressLine({ enabled: false, write: (t) => out.push(t) })
    progress.update('encrypt', { done: 5, total: 10, unit: 'bytes' })
    progress.done()
    assert.deepEqual(out, [])
  })
})
