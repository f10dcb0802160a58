import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreateCustomKeyStoreCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateMacCommand,
  GenerateRandomCommand,
  KMSClient,
  ListKeysCommand,
  SignCommand,
} from '@aws-sdk/client-kms'
import { ImportWorkspace, importMaterial } from '../support/key-import.js'
import { ADMIN } from '../support/keyward-server.js'
import { startAudited, type AuditedServer } from '../adapters/audit-file/trail-support.js'

/** Every form a secret could leak in: raw bytes, hex (both cases), base64 and base64url. */
function forms(secret: Buffer): Buffer[] {
  return [
    secret,
    Buffer.from(secret.toString('hex')),
    Buffer.from(secret.toString('hex').toUpperCase()),
    Buffer.from(secret.toString('base64')),
    Buffer.from(secret.toString('base64url')),
  ]
}

/** All audit files of the trail, every log line of the server and of the trail. */
function everything(s: AuditedServer): Array<{ where: string; bytes: Buffer }> {
  const files = readdirSync(s.streamDir).map((name) => ({
    where: name,
    bytes: readFileSync(join(s.streamDir, name)),
  }))
  const logs = [...s.kw.logger.lines, ...s.kw.logger.debugLines, ...s.trailLogger.lines]
  return [
    ...files,
    ...logs.map((line, i) => ({ where: `log line ${i + 1}`, bytes: Buffer.from(line) })),
  ]
}

describe('audit canary: no secret reaches the trail or the log, in any encoding', () => {
  let s: AuditedServer
  const ws = new ImportWorkspace()
  /** The planted secrets, by what they are. */
  const canaries = new Map<string, Buffer>()

  before(async () => {
    s = await startAudited()
    const kms = s.kw.client()
    const plant = (name: string, value: Buffer) => {
      canaries.set(name, value)
      return value
    }
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!
    const plaintext = plant('plaintext', Buffer.from('canary-plaintext-7f3e9c1d-do-not-log'))
    const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext }))
    plant('ciphertext', Buffer.from(enc.CiphertextBlob!))
    await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }),
    )
    plant('data key', Buffer.from(dataKey.Plaintext!))
    const pair = await kms.send(
      new GenerateDataKeyPairCommand({ KeyId: key.KeyId, KeyPairSpec: 'ECC_NIST_P256' }),
    )
    plant('data key pair private key', Buffer.from(pair.PrivateKeyPlaintext!))
    const random = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }))
    plant('random bytes', Buffer.from(random.Plaintext!))
    const signing = (
      await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))
    ).KeyMetadata!
    const message = plant('message to sign', Buffer.from('canary-message-to-sign-5b1a'))
    await kms.send(
      new SignCommand({
        KeyId: signing.KeyId,
        Message: message,
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    )
    const mac = (
      await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))
    ).KeyMetadata!
    const macMessage = plant('MAC message', Buffer.from('canary-mac-message-2d4c'))
    const tag = await kms.send(
      new GenerateMacCommand({
        KeyId: mac.KeyId,
        Message: macMessage,
        MacAlgorithm: 'HMAC_SHA_256',
      }),
    )
    plant('MAC', Buffer.from(tag.Mac!))
    const external = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!
    const material = plant('imported key material', ws.rand(32))
    await importMaterial(kms, ws, { keyId: external.KeyId!, material })
    const grant = await kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: 'arn:aws:iam::111122223333:user/admin',
        Operations: ['Decrypt'],
      }),
    )
    plant('grant token', Buffer.from(grant.GrantToken!))
    await kms.send(
      new EncryptCommand({
        KeyId: key.KeyId,
        Plaintext: Buffer.from('x'),
        GrantTokens: [grant.GrantToken!],
      }),
    )
    // PINs: a CloudHSM key store's kmsuser password, an XKS proxy's secret access key.
    const pin = plant('key store password (PIN)', Buffer.from('canary-kmsuser-PIN-93c1'))
    await kms
      .send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'canary',
          CloudHsmClusterId: 'cluster-234567abcdefg',
          TrustAnchorCertificate: 'certificate',
          KeyStorePassword: pin.toString(),
        }),
      )
      .catch(() => undefined)
    const proxySecret = plant(
      'XKS proxy secret access key',
      Buffer.from('CanaryXksProxySecretAccessKey0123456789abcdef'),
    )
    await kms
      .send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'canary-xks',
          CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
          XksProxyUriEndpoint: 'https://127.0.0.1:1',
          XksProxyUriPath: '/kms/xks/v1',
          XksProxyConnectivity: 'PUBLIC_ENDPOINT',
          XksProxyAuthenticationCredential: {
            AccessKeyId: 'CANARYXKSACCESSKEYAB',
            RawSecretAccessKey: proxySecret.toString(),
          },
        }),
      )
      .catch(() => undefined)
    // The caller's own secret access key, and a client that sends its secret as the key ID.
    plant('secret access key', Buffer.from(ADMIN.secretAccessKey))
    const confused = new KMSClient({
      endpoint: s.kw.endpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: 'CanarySecretPastedAsKeyId+abc/0123456789',
        secretAccessKey: 'x',
      },
      maxAttempts: 1,
    })
    plant('secret pasted as access key ID', Buffer.from('CanarySecretPastedAsKeyId+abc/0123456789'))
    await confused.send(new ListKeysCommand({})).catch(() => undefined)
    confused.destroy()
    await s.trail.flush()
  })
  after(async () => {
    ws.remove()
    await s.close()
  })

  it('the trail recorded the calls (so the search below searched something)', () => {
    const text = everything(s)
      .filter((x) => x.where.endsWith('.jsonl'))
      .map((x) => x.bytes.toString())
      .join('')
    for (const name of [
      'Encrypt',
      'GenerateDataKeyPair',
      'ImportKeyMaterial',
      'CreateCustomKeyStore',
      'CreateGrant',
    ]) {
      assert.match(text, new RegExp(`"eventName":"${name}"`))
    }
    const refusal = text.split('\n').find((l) => l.includes('"eventName":"ListKeys"'))
    assert.match(String(refusal), /"errorCode":"[A-Za-z]+Exception"/, String(refusal))
  })

  for (const name of [
    'plaintext',
    'ciphertext',
    'data key',
    'data key pair private key',
    'random bytes',
    'message to sign',
    'MAC message',
    'MAC',
    'imported key material',
    'grant token',
    'key store password (PIN)',
    'XKS proxy secret access key',
    'secret access key',
    'secret pasted as access key ID',
  ]) {
    it(`${name}: zero hits, raw, hex or base64`, () => {
      const secret = canaries.get(name)
      assert.ok(secret && secret.length > 0, `${name} was planted`)
      const hits = everything(s).flatMap(({ where, bytes }) =>
        forms(secret).flatMap((form) => (bytes.includes(form) ? [where] : [])),
      )
      assert.deepEqual(hits, [])
    })
  }
})
