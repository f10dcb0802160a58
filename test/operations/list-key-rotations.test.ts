import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  CreateKeyCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { rawRequest } from '../support/raw-request.js'
import { expectWireError, expectWireSuccess } from '../support/wire-assertions.js'

/**
 * ListKeyRotations: completed rotations oldest first (ROTATIONS_ONLY, the default) or every
 * material (ALL_KEY_MATERIAL), entries as the API Reference's RotationsListEntry, paged by
 * Limit and Marker.
 */
describe('ListKeyRotations', () => {
  let kw: TestServer
  let kms: KMSClient
  let keyId: string
  let arn: string
  /** Material IDs oldest first: the first one, then one per rotation. */
  const materials: string[] = []
  const list = (
    input: Omit<ConstructorParameters<typeof ListKeyRotationsCommand>[0], 'KeyId'> = {},
  ) => kms.send(new ListKeyRotationsCommand({ KeyId: keyId, ...input }))

  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    keyId = KeyMetadata!.KeyId!
    arn = KeyMetadata!.Arn!
    materials.push(KeyMetadata!.CurrentKeyMaterialId!)
    for (let i = 0; i < 3; i++) {
      await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))
      const { Rotations } = await list({ IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })
      materials.push(Rotations!.at(-1)!.KeyMaterialId!)
    }
  })
  after(() => kw.close())

  it('lists nothing for a key never rotated, and its first material with ALL_KEY_MATERIAL', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    const none = await kms.send(new ListKeyRotationsCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.deepEqual(none.Rotations, [])
    assert.equal(none.Truncated, false)
    const r = await rawRequest(kw.endpoint, {
      target: 'TrentService.ListKeyRotations',
      body: JSON.stringify({ KeyId: KeyMetadata!.Arn, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
      sign: true,
    })
    // Exactly these members: no import details for a key with AWS_KMS origin, no rotation date
    // for the first material, no NextMarker when not truncated.
    assert.deepEqual(expectWireSuccess(r), {
      Rotations: [
        {
          KeyId: KeyMetadata!.KeyId,
          KeyMaterialId: KeyMetadata!.CurrentKeyMaterialId,
          KeyMaterialState: 'CURRENT',
        },
      ],
      Truncated: false,
    })
  })

  it('lists completed rotations oldest first, the last one current', async () => {
    const { Rotations, Truncated, NextMarker } = await list()
    assert.equal(Truncated, false)
    assert.equal(NextMarker, undefined)
    assert.deepEqual(
      Rotations!.map((r) => [r.KeyId, r.KeyMaterialId, r.KeyMaterialState, r.RotationType]),
      [
        [keyId, materials[1], 'NON_CURRENT', 'ON_DEMAND'],
        [keyId, materials[2], 'NON_CURRENT', 'ON_DEMAND'],
        [keyId, materials[3], 'CURRENT', 'ON_DEMAND'],
      ],
    )
    for (const r of Rotations!) assert.ok(r.RotationDate instanceof Date)
  })

  it('adds the first material with ALL_KEY_MATERIAL', async () => {
    const { Rotations } = await list({ IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })
    assert.deepEqual(
      Rotations!.map((r) => r.KeyMaterialId),
      materials,
    )
    assert.equal(Rotations![0]!.KeyMaterialState, 'NON_CURRENT')
    assert.equal(Rotations![0]!.RotationDate, undefined)
    assert.equal(Rotations![0]!.RotationType, undefined)
  })

  it('pages by Limit and Marker, by key ID or key ARN', async () => {
    const first = await list({ IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 3 })
    assert.equal(first.Truncated, true)
    assert.ok(first.NextMarker)
    const rest = await kms.send(
      new ListKeyRotationsCommand({
        KeyId: arn,
        IncludeKeyMaterial: 'ALL_KEY_MATERIAL',
        Limit: 3,
        Marker: first.NextMarker,
      }),
    )
    assert.equal(rest.Truncated, false)
    assert.deepEqual(
      [...first.Rotations!, ...rest.Rotations!].map((r) => r.KeyMaterialId),
      materials,
    )
  })

  it('refuses a marker it did not issue, and a Limit over 1000', async () => {
    await expectKmsError(
      list({ Marker: 'bm90LWEtbWFya2Vy' }),
      'InvalidMarkerException',
      'The request was rejected because the marker that specifies where pagination should next begin is not valid.',
    )
    await expectKmsError(
      list({ Limit: 1001 }),
      'ValidationException',
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    )
  })

  it('works for a key pending deletion', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KeyMetadata!.KeyId }))
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId }))
    const { Rotations } = await kms.send(new ListKeyRotationsCommand({ KeyId: KeyMetadata!.KeyId }))
    assert.equal(Rotations!.length, 1)
  })

  it('refuses keys that cannot rotate with UnsupportedOperationException and no message', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' }),
    )
    const r = await rawRequest(kw.endpoint, {
      target: 'TrentService.ListKeyRotations',
      body: JSON.stringify({ KeyId: KeyMetadata!.KeyId }),
      sign: true,
    })
    expectWireError(r, 'UnsupportedOperationException', undefined)
  })
})
