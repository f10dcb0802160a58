import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { jsonLineLogger, parseLogLevel } from '../../src/ports/logger.js'

describe('jsonLineLogger', () => {
  const capture = (level?: 'error' | 'info' | 'debug') => {
    const lines: string[] = []
    const logger = jsonLineLogger({ ...(level ? { level } : {}), write: (l) => lines.push(l) })
    return { logger, lines }
  }

  it('writes time, level and message first, then the fields, on one JSON line', () => {
    const { logger, lines } = capture()
    logger.error('internal error', { requestId: 'r-1', cause: 'boom' })
    assert.equal(lines.length, 1)
    assert.match(
      lines[0]!,
      /^\{"time":"\d{4}-\d\d-\d\dT[\d:.]+Z","level":"error","message":"internal error","requestId":"r-1","cause":"boom"\}$/,
    )
  })

  it('never lets a field replace time, level or message', () => {
    const { logger, lines } = capture()
    logger.info('real', { message: 'forged', level: 'debug', time: 'then' })
    const line = JSON.parse(lines[0]!) as Record<string, unknown>
    assert.equal(line.message, 'real')
    assert.equal(line.level, 'info')
    assert.notEqual(line.time, 'then')
  })

  it('drops the lines below its level (info by default)', () => {
    for (const [level, written] of [
      [undefined, ['error', 'info']],
      ['error', ['error']],
      ['info', ['error', 'info']],
      ['debug', ['error', 'info', 'debug']],
    ] as const) {
      const { logger, lines } = capture(level)
      logger.error('e')
      logger.info('i')
      logger.debug('d')
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { level: string }).level),
        written,
      )
      assert.equal(logger.debugEnabled, level === 'debug')
    }
  })
})

describe('parseLogLevel', () => {
  it('reads error, info and debug in any case; unset is info', () => {
    assert.equal(parseLogLevel(undefined), 'info')
    assert.equal(parseLogLevel(''), 'info')
    assert.equal(parseLogLevel('DEBUG'), 'debug')
    assert.equal(parseLogLevel('error'), 'error')
  })

  it('refuses anything else, naming the levels', () => {
    assert.throws(() => parseLogLevel('warn'), {
      message: 'invalid log level: warn (one of error, info, debug)',
    })
  })
})
