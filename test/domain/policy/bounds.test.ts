/**
 * Bounded work on hostile input (issue 12: "regex-hostile wildcards … in bounded time"). The
 * bounds are asserted on step counters, not on wall time, so they hold on a loaded machine.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parsePolicy } from '../../../src/domain/policy/document.js'
import { evaluate } from '../../../src/domain/policy/evaluate.js'
import { compileGlob, globMatch, type WorkCounter } from '../../../src/domain/policy/glob.js'
import { readJson } from '../../../src/domain/policy/json.js'
import { ACCOUNT, KEY, alice, iam } from './fixtures.js'

describe('wildcard matcher', () => {
  const ROWS: Array<[pattern: string, text: string, expect: boolean]> = [
    ['', '', true],
    ['', 'a', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['?', '', false],
    ['?', 'é', true],
    ['?', '😀', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['*a', 'bbba', true],
    ['a**b', 'ab', true],
    ['kms:*Key', 'kms:CreateKey', true],
    ['*?', '', false],
    ['??', 'ab', true],
    ['??', 'abc', false],
    ['*x*', 'abxab', true],
    ['a*a*a*b', 'aaaaaaab', true],
  ]
  for (const [pattern, text, expect] of ROWS) {
    it(`'${pattern}' against '${text}' → ${expect}`, () => {
      assert.equal(globMatch(compileGlob(pattern), text), expect)
    })
  }

  it('ignoreCase folds both sides', () => {
    assert.equal(
      globMatch(compileGlob('KMS:En*', { ignoreCase: true }), 'kms:ENCRYPT', { ignoreCase: true }),
      true,
    )
  })

  // Patterns that send a backtracking regex engine into exponential time.
  const HOSTILE: Array<[name: string, pattern: string, text: string]> = [
    ['*?*?*?… against a long run that cannot match', '*?'.repeat(500) + 'b', 'a'.repeat(5000)],
    ['a*a*a*…b against aaaa…', 'a*'.repeat(500) + 'b', 'a'.repeat(5000)],
    ['*a*a*a*…c against a long alternating text', '*a'.repeat(400) + '*c', 'ab'.repeat(2500)],
  ]
  for (const [name, pattern, text] of HOSTILE) {
    it(`hostile: ${name} stays within (n+1)(m+1) steps`, () => {
      const counter: WorkCounter = { steps: 0 }
      const glob = compileGlob(pattern)
      assert.equal(globMatch(glob, text, { counter }), false)
      assert.ok(counter.steps > 0)
      assert.ok(
        counter.steps <= (text.length + 1) * (glob.length + 1),
        `${counter.steps} steps for n=${text.length}, m=${glob.length}`,
      )
    })
  }

  it('hostile: the classic case is linear, not quadratic', () => {
    // With only the last star remembered, `*?*?…*?b` over a's costs about n + m steps.
    const counter: WorkCounter = { steps: 0 }
    const text = 'a'.repeat(20_000)
    globMatch(compileGlob('*?'.repeat(1000) + 'b'), text, { counter })
    assert.ok(counter.steps < 10 * (text.length + 2000), `${counter.steps} steps`)
  })

  it('hostile: a 30 KB wildcard action in a policy, evaluated, is bounded', () => {
    const action = 'kms:' + '*?'.repeat(7000) + 'x'
    const policy = parsePolicy(
      { Version: '2012-10-17', Statement: iam('Allow', action) },
      { kind: 'identity' },
    )
    const counter: WorkCounter = { steps: 0 }
    const d = evaluate(
      { principal: alice, action: 'kms:Encrypt', resource: '*', identityPolicies: [policy] },
      { counter },
    )
    assert.equal(d.allowed, false)
    assert.ok(counter.steps <= ('kms:encrypt'.length + 1) * (action.length + 1))
  })

  it('hostile: 1000 statements with conditions are each evaluated once', () => {
    const statements = Array.from({ length: 1000 }, (_, i) => ({
      ...iam('Allow', 'kms:Enc*'),
      Condition: { StringLike: { 'kms:EncryptionContext:k': `*?*?*?*${i}` } },
    }))
    const policy = parsePolicy(
      { Version: '2012-10-17', Statement: statements },
      { kind: 'identity' },
    )
    const counter: WorkCounter = { steps: 0 }
    const value = 'v'.repeat(2000)
    const d = evaluate(
      {
        principal: alice,
        action: 'kms:Encrypt',
        resource: KEY,
        keyAccount: ACCOUNT,
        identityPolicies: [policy],
        conditions: { 'kms:EncryptionContext:k': value },
      },
      { counter },
    )
    assert.equal(d.allowed, false)
    // Per statement: the action match plus one condition match of at most (n+1)(m+1) steps.
    assert.ok(counter.steps <= 1000 * (12 * 9 + (value.length + 1) * 13), `${counter.steps} steps`)
  })
})

describe('strict JSON reader', () => {
  it('reads escapes, numbers, nesting', () => {
    assert.deepEqual(
      JSON.parse(
        JSON.stringify(
          readJson('{"a":"\\u0041\\n\\"","b":[1,-2.5e1,true,false,null],"c":{}}', { maxDepth: 4 }),
        ),
      ),
      { a: 'A\n"', b: [1, -25, true, false, null], c: {} },
    )
  })
  it('keeps __proto__ as an ordinary member', () => {
    const v = readJson('{"__proto__":{"x":1}}', { maxDepth: 4 }) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(v), null)
    assert.deepEqual(Object.keys(v), ['__proto__'])
    assert.equal(({} as Record<string, unknown>).x, undefined)
  })
  const BAD = [
    '',
    '{',
    '{"a":}',
    '{"a" 1}',
    '[1 2]',
    '01',
    '"\\x"',
    '{"a":1,}',
    'nul',
    '{"a":"\\u12"}',
  ]
  for (const text of BAD) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => readJson(text, { maxDepth: 4 }), {
        name: 'PolicyDocumentError',
        message: 'The policy document is not valid JSON.',
      })
    })
  }
  it('100,000 nested arrays: refused at the depth limit without recursion', () => {
    assert.throws(() => readJson('['.repeat(100_000) + ']'.repeat(100_000), { maxDepth: 10 }), {
      name: 'PolicyDocumentError',
      message: 'The policy document is nested too deeply.',
    })
  })

  it('matches each text on its own when texts and case options alternate', () => {
    // globMatch keeps the last text's code points; a stale entry must never answer for another.
    const g = compileGlob('kms:En*', { ignoreCase: true })
    const exact = compileGlob('kms:En*')
    for (let i = 0; i < 3; i++) {
      assert.equal(globMatch(g, 'kms:ENCRYPT', { ignoreCase: true }), true)
      assert.equal(globMatch(exact, 'kms:ENCRYPT'), false)
      assert.equal(globMatch(g, 'kms:Decrypt', { ignoreCase: true }), false)
      assert.equal(globMatch(exact, 'kms:Encrypt'), true)
    }
  })
})
