import assert from 'node:assert/strict'
import type { RawResponse } from './raw-request.js'

/** A request ID as AWS sends it in x-amzn-RequestId: a lower-case UUID. */
export const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Asserts an AWS JSON 1.1 error on the wire: the status (400 unless told), a UUID in
 * x-amzn-RequestId, the exception name in x-amzn-ErrorType and exactly this body
 * (`{"__type": name}` with no message member when `message` is undefined).
 *
 * @example
 *   expectWireError(r, 'UnknownOperationException', undefined)
 */
export function expectWireError(
  response: RawResponse,
  type: string,
  message: string | RegExp | undefined,
  options: { status?: number } = {},
): void {
  assert.equal(response.status, options.status ?? 400, response.text)
  assert.match(response.headers.get('x-amzn-requestid') ?? '', REQUEST_ID)
  assert.equal(response.headers.get('x-amzn-errortype'), type)
  assert.equal(response.headers.get('content-type'), 'application/x-amz-json-1.1')
  assert.equal(response.json?.__type, type, response.text)
  if (message === undefined) assert.deepEqual(response.json, { __type: type })
  else if (typeof message === 'string') assert.deepEqual(response.json, { __type: type, message })
  else {
    assert.deepEqual(Object.keys(response.json ?? {}).sort(), ['__type', 'message'])
    assert.match(String(response.json?.message), message)
  }
}

/** Asserts a 200 answer with a request ID and no error type. */
export function expectWireSuccess(response: RawResponse): Record<string, unknown> {
  assert.equal(response.status, 200, response.text)
  assert.match(response.headers.get('x-amzn-requestid') ?? '', REQUEST_ID)
  assert.equal(response.headers.get('x-amzn-errortype'), null)
  assert.ok(response.json, 'a JSON body')
  return response.json
}
