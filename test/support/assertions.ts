import assert from 'node:assert/strict'

/**
 * Asserts that `promise` rejects with the AWS exception `name` and exactly `message`
 * (the SDK's parsed error; use rawRequest for the wire body).
 *
 * @example
 *   await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: 'x' })), 'NotFoundException', "Invalid keyId 'x'")
 */
export async function expectKmsError(
  promise: Promise<unknown>,
  name: string,
  message: string | RegExp,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } }
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`)
    if (typeof message === 'string') assert.equal(e.message, message)
    else assert.match(e.message, message)
    return e
  }
  assert.fail(`expected ${name}, but the call succeeded`)
}
