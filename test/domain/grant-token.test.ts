import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { grantIdOfToken, issueGrantToken } from '../../src/domain/grant-token.js'

const SECRET = Buffer.alloc(32, 1)
const GRANT_ID = 'ab'.repeat(32)
const issue = (nonceByte = 0, secret: Buffer = SECRET) =>
  issueGrantToken({ secret, grantId: GRANT_ID, nonce: Buffer.alloc(16, nonceByte) })

const refused = (token: string, secret: Buffer = SECRET) =>
  assert.throws(
    () => grantIdOfToken(token, secret),
    (e: Error) =>
      e.name === 'InvalidGrantTokenException' && e.message === 'The grant token is not valid.',
  )

describe('grant tokens', () => {
  it('name their grant, and differ with every nonce', () => {
    const a = issue(0)
    const b = issue(1)
    assert.notEqual(a, b)
    assert.equal(grantIdOfToken(a, SECRET), GRANT_ID)
    assert.equal(grantIdOfToken(b, SECRET), GRANT_ID)
    assert.match(a, /^[A-Za-z0-9_-]{108}$/)
  })

  it('are refused under another secret, altered, truncated, extended or not base64url', () => {
    const token = issue()
    refused(token, Buffer.alloc(32, 2))
    for (let i = 0; i < token.length; i += 9) {
      const altered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
      refused(altered)
    }
    refused(token.slice(0, -1))
    refused(token + 'A')
    refused(token.slice(0, -1) + '=')
    refused('')
    refused('x'.repeat(8192))
  })

  it('are refused with another version byte, even with a valid MAC over it', () => {
    const bytes = Buffer.from(issue(), 'base64url')
    bytes[0] = 2
    refused(bytes.toString('base64url'))
  })
})
