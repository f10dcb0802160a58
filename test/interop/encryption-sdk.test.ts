import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node'
import { CreateAliasCommand, CreateKeyCommand, KMS, type KMSClient } from '@aws-sdk/client-kms'
import { ADMIN, startKeyward, type TestServer } from '../support/keyward-server.js'

/**
 * The AWS Encryption SDK for JavaScript, unchanged, with a KMS keyring whose client points at
 * Keyward: it calls GenerateDataKey, Encrypt (for extra keys) and Decrypt, checks that every
 * response's KeyId is the key ARN it asked for, and binds its own encryption context.
 */
describe('AWS Encryption SDK (@aws-crypto/client-node) against Keyward', () => {
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  let kw: TestServer
  let kms: KMSClient
  /** The ESDK takes the SDK's aggregated client (methods rather than commands). */
  let esdkClient: KMS
  let generator: string
  let second: string
  before(async () => {
    kw = await startKeyward()
    kms = kw.client()
    esdkClient = new KMS({
      endpoint: kw.endpoint,
      region: 'us-east-1',
      credentials: ADMIN,
      maxAttempts: 1,
    })
    generator = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
    second = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!
  })
  after(async () => {
    esdkClient.destroy()
    await kw.close()
  })

  const keyring = (keys: { generatorKeyId?: string; keyIds?: string[]; discovery?: boolean }) =>
    new KmsKeyringNode({ ...keys, clientProvider: () => esdkClient })

  it('encrypts with a generator and an extra key; each key alone decrypts', async () => {
    const plaintext = Buffer.from('a message for the Encryption SDK')
    const context = { tenant: 'acme', purpose: 'interop' }
    const { result } = await encrypt(
      keyring({ generatorKeyId: generator, keyIds: [second] }),
      plaintext,
      { encryptionContext: context },
    )
    for (const only of [generator, second]) {
      const { plaintext: out, messageHeader } = await decrypt(keyring({ keyIds: [only] }), result)
      assert.deepEqual(out, plaintext)
      assert.equal(messageHeader.encryptionContext.tenant, 'acme')
      assert.equal(messageHeader.encryptedDataKeys.length, 2)
    }
  })

  it('decrypts in discovery mode, and refuses a keyring that knows none of the keys', async () => {
    const { result } = await encrypt(keyring({ generatorKeyId: generator }), Buffer.from('x'))
    const { plaintext } = await decrypt(keyring({ discovery: true }), result)
    assert.equal(plaintext.toString(), 'x')
    await assert.rejects(decrypt(keyring({ keyIds: [second] }), result))
  })

  it('accepts an alias as generator (Keyward answers with the key ARN)', async () => {
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/esdk', TargetKeyId: generator }))
    const aliasArn = generator.replace(/key\/.*$/, 'alias/esdk')
    const { result } = await encrypt(keyring({ generatorKeyId: aliasArn }), Buffer.from('y'))
    const { plaintext } = await decrypt(keyring({ keyIds: [generator] }), result)
    assert.equal(plaintext.toString(), 'y')
  })
})
