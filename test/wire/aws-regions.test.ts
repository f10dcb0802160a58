import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AWS_REGION_NAMES } from '../../src/wire/aws-regions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireError, expectWireSuccess } from '../support/wire-assertions.js'

/**
 * The Regions AWS has (model/aws-regions.json): a credential scope naming another one is
 * refused with the answer AWS gives a bad credential scope, unless the `regions` setting of the
 * principals file lists it (issue 10).
 */

const GENERATE_RANDOM = { target: 'TrentService.GenerateRandom', body: '{"NumberOfBytes":8}' }
const badRegion = (region: string) =>
  `Credential should be scoped to a valid region, not '${region}'. `

describe('AWS Region names', () => {
  it('lists the commercial, China and GovCloud Regions, each once, sorted', () => {
    for (const region of [
      ...['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'af-south-1', 'ap-east-1'],
      ...['ap-east-2', 'ap-south-1', 'ap-south-2', 'ap-northeast-1', 'ap-northeast-2'],
      ...['ap-northeast-3', 'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2'],
      ...['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-south-1', 'eu-south-2', 'eu-north-1'],
      ...['il-central-1', 'me-south-1', 'me-central-1', 'mx-central-1', 'sa-east-1'],
      ...['cn-north-1', 'cn-northwest-1', 'us-gov-east-1', 'us-gov-west-1'],
      ...[1, 2, 3, 4, 5, 6, 7].map((n) => `ap-southeast-${n}`),
    ]) {
      assert.ok(AWS_REGION_NAMES.includes(region), region)
    }
    assert.deepEqual([...AWS_REGION_NAMES].sort(), AWS_REGION_NAMES)
    assert.equal(new Set(AWS_REGION_NAMES).size, AWS_REGION_NAMES.length)
    for (const region of AWS_REGION_NAMES) assert.match(region, /^[a-z]{2}(?:-[a-z]+)+-\d+$/)
    assert.ok(!AWS_REGION_NAMES.includes('us-eest-1'))
    assert.ok(!AWS_REGION_NAMES.includes('aws-global'), 'no pseudo-Region')
  })

  describe('without a regions setting', () => {
    let kw: TestServer
    before(async () => (kw = await startKeyward()))
    after(() => kw.close())

    it('refuses a Region AWS does not have, as a bad credential scope', async () => {
      for (const region of ['us-eest-1', 'xx-nowhere-9', 'us-east-99']) {
        const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region })
        expectWireError(r, 'InvalidSignatureException', badRegion(region))
      }
    })

    it('serves the Regions of every partition', async () => {
      for (const region of ['ap-southeast-7', 'cn-northwest-1', 'us-gov-east-1', 'mx-central-1']) {
        expectWireSuccess(await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region }))
      }
    })
  })

  it('refuses an unknown Region in dev mode too', async () => {
    const kw = await startKeyward({ dev: true })
    try {
      const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region: 'us-eest-1' })
      expectWireError(r, 'InvalidSignatureException', badRegion('us-eest-1'))
    } finally {
      await kw.close()
    }
  })

  it('serves a Region of its own when the regions setting lists it, and only those listed', async () => {
    const kw = await startKeyward({ regions: ['us-eest-1', 'us-east-1'] })
    try {
      expectWireSuccess(await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region: 'us-eest-1' }))
      const r = await rawRequest(kw.endpoint, { ...GENERATE_RANDOM, region: 'eu-west-1' })
      expectWireError(r, 'InvalidSignatureException', badRegion('eu-west-1'))
    } finally {
      await kw.close()
    }
  })
})

describe('GET /', () => {
  let kw: TestServer
  before(async () => (kw = await startKeyward()))
  after(() => kw.close())

  it('answers one line of text/plain that says what the server is, without auth', async () => {
    const r = await fetch(kw.endpoint + '/')
    assert.equal(r.status, 200)
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8')
    const text = await r.text()
    assert.match(text, /^Keyward: a self-hosted key management service speaking the AWS KMS API/)
    assert.match(text, /README\.md/)
    assert.equal(text.split('\n').length, 2, 'one line')
  })

  it('leaves other GETs as they were: UnknownOperationException', async () => {
    for (const path of ['/index.html', '/?x=1']) {
      const r = await fetch(kw.endpoint + path)
      assert.equal(r.status, 400)
      assert.deepEqual(await r.json(), { __type: 'UnknownOperationException' })
    }
  })
})
