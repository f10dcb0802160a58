import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { CreateKeyCommand, DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { keyArn, aliasArn } from '../../src/domain/identifiers.js'
import type { KeyRecord, KeyState } from '../../src/domain/key.js'
import { defaultKeyPolicy } from '../../src/domain/policy/index.js'
import type { KeySpec, KeyUsage } from '../../src/domain/key-specs.js'
import type { TestServer } from '../support/keyward-server.js'
import { rawRequest, type RawResponse } from '../support/raw-request.js'

/**
 * Fixtures shared by the symmetric-crypto operation tests (Encrypt, Decrypt, ReEncrypt,
 * GenerateDataKey*): keys through the SDK, and the states and specs the API cannot reach yet
 * (pending deletion, RSA/HMAC keys, broken material), set up through the KeyService the server
 * itself uses.
 */

/** The admin account of the test server (test/support/keyward-server.ts). */
export const ACCOUNT = '111122223333'
export const REGION = 'us-east-1'

export interface TestKey {
  readonly keyId: string
  readonly arn: string
  readonly keyMaterialId: string
}

/** A new symmetric encryption key, created through the SDK. */
export async function createSymmetricKey(kms: KMSClient): Promise<TestKey> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}))
  return {
    keyId: KeyMetadata!.KeyId!,
    arn: KeyMetadata!.Arn!,
    keyMaterialId: KeyMetadata!.CurrentKeyMaterialId!,
  }
}

/** The current KeyMaterialId DescribeKey reports. */
export async function currentKeyMaterialId(kms: KMSClient, keyId: string): Promise<string> {
  const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
  return KeyMetadata!.CurrentKeyMaterialId!
}

/** Moves a key to `state` the way a state-changing operation would (KeyService.mutate). */
export async function setKeyState(kw: TestServer, keyId: string, state: KeyState): Promise<void> {
  const key = await kw.keyward.keys.findKey(REGION, keyId)
  if (!key) throw new Error(`no key ${keyId}`)
  await kw.keyward.keys.mutate(key, (current) => ({
    ...current,
    keyState: state,
    ...(state === 'PendingDeletion'
      ? { deletionDate: Date.now() + 7 * 86_400_000, pendingDeletionWindowInDays: 7 }
      : {}),
  }))
}

/**
 * Stores a key record CreateKey cannot make yet (another spec or usage), optionally with
 * known material (`material`: 32 bytes) or with a stored material the root key cannot unwrap
 * (`material: 'broken'`, to provoke an internal error after the checks have passed).
 */
export async function insertKey(
  kw: TestServer,
  options: { keySpec?: KeySpec; keyUsage?: KeyUsage; material?: Buffer | 'broken' } = {},
): Promise<KeyRecord & { keyMaterialId: string }> {
  const keyId = randomUUID()
  const keyMaterialId = randomBytes(32).toString('hex')
  const key: KeyRecord = {
    schemaVersion: 1,
    keyId,
    accountId: ACCOUNT,
    region: REGION,
    arn: keyArn({ accountId: ACCOUNT, region: REGION }, keyId),
    creationDate: Date.now(),
    keyState: 'Enabled',
    description: '',
    keyUsage: options.keyUsage ?? 'ENCRYPT_DECRYPT',
    keySpec: options.keySpec ?? 'SYMMETRIC_DEFAULT',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: false,
    policy: defaultKeyPolicy(ACCOUNT),
    tags: [],
    currentKeyMaterialId: keyMaterialId,
  }
  const { material } = options
  await kw.keyward.keys.create(
    key,
    Buffer.isBuffer(material) ? { keyMaterialId, bytes: material } : undefined,
  )
  if (material === 'broken') {
    await kw.keyward.store.transaction((tx) =>
      tx.insertKeyMaterial({
        keyId,
        region: REGION,
        keyMaterialId,
        createdAt: Date.now(),
        wrapped: Buffer.from('not a material wrapped by the root key'),
      }),
    )
  }
  return { ...key, keyMaterialId }
}

/**
 * Points a new alias at `keyId` (through the KeyService; the tests here are about the
 * crypto operations accepting alias forms, not about CreateAlias).
 */
export async function createAlias(
  kw: TestServer,
  keyId: string,
): Promise<{ aliasName: string; aliasArn: string }> {
  const aliasName = `alias/crypto-test-${randomUUID()}`
  const now = Date.now()
  await kw.keyward.keys.changeAliases((tx) =>
    tx.insertAlias({
      accountId: ACCOUNT,
      region: REGION,
      aliasName,
      targetKeyId: keyId,
      creationDate: now,
      lastUpdatedDate: now,
    }),
  )
  return { aliasName, aliasArn: aliasArn({ accountId: ACCOUNT, region: REGION }, aliasName) }
}

/** A copy of `blob` with one bit flipped at byte `index` (negative: from the end). */
export function flipBit(blob: Uint8Array, index: number, bit = 0): Buffer {
  const copy = Buffer.from(blob)
  const at = index < 0 ? copy.length + index : index
  copy[at] = copy[at]! ^ (1 << bit)
  return copy
}

/** Where the parts of a version-1 blob start (src/domain/ciphertext.ts). */
export function blobLayout(blob: Uint8Array) {
  const keyIdLength = blob[1]!
  const materialAt = 2 + keyIdLength
  const saltAt = materialAt + 32
  const ivAt = saltAt + 16
  const bodyAt = ivAt + 12
  const tagAt = blob.length - 16
  return { keyIdAt: 2, materialAt, saltAt, ivAt, bodyAt, tagAt }
}

/**
 * What the SDK reports for an exception AWS sends without a message (InvalidCiphertextException):
 * its own placeholder text. The wire body itself is checked with {@link expectBareWireError}.
 */
export const NO_MESSAGE = 'UnknownError'

/** Base64, as blobs travel in AWS JSON. */
export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** Sends `body` (blobs already base64) to `TrentService.<operation>` as signed AWS JSON 1.1 bytes. */
export function sendRaw(
  kw: TestServer,
  operation: string,
  body: Record<string, unknown>,
): Promise<RawResponse> {
  return rawRequest(kw.endpoint, {
    target: `TrentService.${operation}`,
    body: JSON.stringify(body),
  })
}

/** An error on the wire with no message at all: HTTP 400 and exactly `{"__type":"<name>"}`. */
export function expectBareWireError(response: RawResponse, name: string): void {
  assert.equal(response.status, 400, response.text)
  assert.equal(response.text, JSON.stringify({ __type: name }))
  assert.equal(response.headers.get('x-amzn-errortype'), name)
}
