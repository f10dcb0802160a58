import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { KmsOperationName } from '../../src/wire/generated/model.js'
import {
  compileValidators,
  validateInput,
  warmUpValidators,
} from '../../src/wire/validate-input.js'
import { KEY_SPEC_ENUM, KEY_USAGE_ENUM } from '../support/aws-messages.js'

/**
 * Request validation with AWS's message text. Expected messages come from
 * ../shared/reference/aws-recorded-errors.md (recorded against real AWS) where a recording
 * exists; the other rows pin the same formatter's output for the other constraint kinds.
 */

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab'
const one = (line: string) => `1 validation error detected: ${line}`

interface Row {
  readonly name: string
  readonly op: KmsOperationName
  readonly body: unknown
  readonly error: 'ValidationException' | 'SerializationException'
  readonly message: string
}

const ROWS: readonly Row[] = [
  {
    name: 'keySpec enum (recorded 2023-04-13, then the newer specs)',
    op: 'CreateKey',
    body: { KeySpec: 'HMAC_random' },
    error: 'ValidationException',
    message: one(
      `Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ${KEY_SPEC_ENUM}`,
    ),
  },
  {
    name: 'keyUsage enum (recorded 2023-04-13, then KEY_AGREEMENT)',
    op: 'CreateKey',
    body: { KeyUsage: 'RANDOM' },
    error: 'ValidationException',
    message: one(
      `Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: ${KEY_USAGE_ENUM}`,
    ),
  },
  {
    name: 'macAlgorithm enum (recorded 2023-04-13, GenerateMac)',
    op: 'GenerateMac',
    body: { KeyId: KEY_ID, Message: 'AA==', MacAlgorithm: 'INVALID' },
    error: 'ValidationException',
    message: one(
      "Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
    ),
  },
  {
    name: 'macAlgorithm enum (recorded 2023-04-13, VerifyMac)',
    op: 'VerifyMac',
    body: { KeyId: KEY_ID, Message: 'AA==', Mac: 'AA==', MacAlgorithm: 'INVALID' },
    error: 'ValidationException',
    message: one(
      "Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
    ),
  },
  {
    name: 'keyAgreementAlgorithm enum (recorded 2024-12-25)',
    op: 'DeriveSharedSecret',
    body: { KeyId: KEY_ID, KeyAgreementAlgorithm: 'INVALID', PublicKey: 'AAAA' },
    error: 'ValidationException',
    message: one(
      "Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
    ),
  },
  {
    name: "GenerateDataKey's keySpec enum, which is not CreateKey's",
    op: 'GenerateDataKey',
    body: { KeyId: KEY_ID, KeySpec: 'AES_512' },
    error: 'ValidationException',
    message: one(
      "Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
    ),
  },
  {
    name: 'numberOfBytes 0 (recorded 2023-04-13)',
    op: 'GenerateRandom',
    body: { NumberOfBytes: 0 },
    error: 'ValidationException',
    message: one(
      "Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    ),
  },
  {
    name: 'numberOfBytes 1025 (recorded 2023-04-13)',
    op: 'GenerateRandom',
    body: { NumberOfBytes: 1025 },
    error: 'ValidationException',
    message: one(
      "Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    ),
  },
  {
    name: 'tagKey of 129 characters (recorded 2025-01-22)',
    op: 'CreateKey',
    body: { Tags: [{ TagKey: 'a'.repeat(129), TagValue: 'v' }] },
    error: 'ValidationException',
    message: one(
      `Value '${'a'.repeat(129)}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`,
    ),
  },
  {
    name: 'tagValue of 257 characters (recorded 2025-01-21)',
    op: 'CreateKey',
    body: { Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] },
    error: 'ValidationException',
    message: one(
      `Value '${'v'.repeat(257)}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
    ),
  },
  {
    name: 'the second tag is numbered 2',
    op: 'CreateKey',
    body: {
      Tags: [
        { TagKey: 'ok', TagValue: '' },
        { TagKey: '', TagValue: 'v' },
      ],
    },
    error: 'ValidationException',
    message: one(
      "Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ),
  },
  {
    name: 'a tag without its value',
    op: 'CreateKey',
    body: { Tags: [{ TagKey: 'k' }] },
    error: 'ValidationException',
    message: one(
      "Value null at 'tags.1.member.tagValue' failed to satisfy constraint: Member must not be null",
    ),
  },
  {
    // No recording shows AWS's order for several errors; Keyward lists them in the model's
    // member order (CreateKey declares KeyUsage before KeySpec).
    name: 'two errors at once, joined by "; " in model member order',
    op: 'CreateKey',
    body: { KeySpec: 'X', KeyUsage: 'Y' },
    error: 'ValidationException',
    message: `2 validation errors detected: Value 'Y' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: ${KEY_USAGE_ENUM}; Value 'X' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ${KEY_SPEC_ENUM}`,
  },
  {
    name: 'a required member missing',
    op: 'DescribeKey',
    body: {},
    error: 'ValidationException',
    message: one("Value null at 'keyId' failed to satisfy constraint: Member must not be null"),
  },
  {
    name: 'two required members missing',
    op: 'CreateAlias',
    body: {},
    error: 'ValidationException',
    message:
      "2 validation errors detected: Value null at 'aliasName' failed to satisfy constraint: Member must not be null; Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null",
  },
  {
    name: 'an empty KeyId',
    op: 'DescribeKey',
    body: { KeyId: '' },
    error: 'ValidationException',
    message: one(
      "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ),
  },
  {
    name: 'a pattern, shown as the model writes it',
    op: 'CreateAlias',
    body: { AliasName: 'alias/bad name!', TargetKeyId: KEY_ID },
    error: 'ValidationException',
    message: one(
      "Value 'alias/bad name!' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    ),
  },
  {
    name: 'a pattern matches the whole value, as Java does',
    op: 'CreateAlias',
    body: { AliasName: 'alias/ok\nbad', TargetKeyId: KEY_ID },
    error: 'ValidationException',
    message: one(
      "Value 'alias/ok\nbad' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    ),
  },
  {
    name: 'a list member constraint (an empty grant token), reported on the list',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'AA==', GrantTokens: [''] },
    error: 'ValidationException',
    message: one(
      "Value '[]' at 'grantTokens' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to 1]",
    ),
  },
  {
    name: 'a list over its length',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'AA==', GrantTokens: Array.from({ length: 11 }, () => 't') },
    error: 'ValidationException',
    message: one(
      "Value '[t, t, t, t, t, t, t, t, t, t, t]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10",
    ),
  },
  {
    name: 'a sensitive blob over its length, value left out (recorded)',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: Buffer.alloc(4097).toString('base64') },
    error: 'ValidationException',
    message: one(
      "Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    ),
  },
  {
    name: 'an empty sensitive blob, value left out',
    op: 'GenerateMac',
    body: { KeyId: KEY_ID, Message: '', MacAlgorithm: 'HMAC_SHA_256' },
    error: 'ValidationException',
    message: one(
      "Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ),
  },
  {
    name: 'a string where a number belongs',
    op: 'GenerateRandom',
    body: { NumberOfBytes: '8' },
    error: 'SerializationException',
    message: "Value at 'numberOfBytes' cannot be read as the member's type.",
  },
  {
    name: 'a fractional number where an integer belongs',
    op: 'GenerateRandom',
    body: { NumberOfBytes: 8.5 },
    error: 'SerializationException',
    message: "Value at 'numberOfBytes' cannot be read as the member's type.",
  },
  {
    name: 'a number in a string map',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'AA==', EncryptionContext: { a: 1 } },
    error: 'SerializationException',
    message: "Value at 'encryptionContext.a' cannot be read as the member's type.",
  },
  {
    name: 'a blob in malformed base64: padding inside the base64',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'AB=CABCD' },
    error: 'SerializationException',
    message: "Value at 'plaintext' cannot be read as the member's type.",
  },
  {
    name: 'a blob in malformed base64: three padding characters',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'A===' },
    error: 'SerializationException',
    message: "Value at 'plaintext' cannot be read as the member's type.",
  },
  {
    name: 'a blob in malformed base64: base64 of a length that is not a multiple of 4',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'ABC' },
    error: 'SerializationException',
    message: "Value at 'plaintext' cannot be read as the member's type.",
  },
  {
    name: 'a blob in malformed base64: only padding',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: '====' },
    error: 'SerializationException',
    message: "Value at 'plaintext' cannot be read as the member's type.",
  },
  {
    name: 'a blob in malformed base64: base64url characters',
    op: 'Encrypt',
    body: { KeyId: KEY_ID, Plaintext: 'AB-_' },
    error: 'SerializationException',
    message: "Value at 'plaintext' cannot be read as the member's type.",
  },
  {
    name: 'a body that is an array',
    op: 'ListKeys',
    body: [],
    error: 'SerializationException',
    message: 'Start of structure or map found where not expected.',
  },
]

describe('validateInput', () => {
  for (const row of ROWS) {
    it(`refuses ${row.name}`, () => {
      assert.throws(() => validateInput(row.op, row.body), {
        name: row.error,
        message: row.message,
      })
    })
  }

  it('compiles the schema of every operation (they compile lazily at run time)', async () => {
    const stopped = new AbortController()
    stopped.abort()
    await warmUpValidators(stopped.signal)
    await warmUpValidators()
    assert.doesNotThrow(() => compileValidators())
  })

  it('accepts the largest values allowed', () => {
    assert.doesNotThrow(() => validateInput('GenerateRandom', { NumberOfBytes: 1024 }))
    assert.doesNotThrow(() =>
      validateInput('CreateKey', {
        Tags: [{ TagKey: 'a'.repeat(128), TagValue: 'v'.repeat(256) }],
      }),
    )
    assert.doesNotThrow(() =>
      validateInput('Encrypt', { KeyId: KEY_ID, Plaintext: Buffer.alloc(4096).toString('base64') }),
    )
  })

  it('decodes blobs to Buffers and freezes the result', () => {
    const input = validateInput('Encrypt', {
      KeyId: KEY_ID,
      Plaintext: Buffer.from('hi').toString('base64'),
      EncryptionContext: { purpose: 'test' },
    }) as { Plaintext: Buffer; EncryptionContext: Record<string, string> }
    assert.ok(Buffer.isBuffer(input.Plaintext))
    assert.equal(input.Plaintext.toString(), 'hi')
    assert.ok(Object.isFrozen(input))
    assert.ok(Object.isFrozen(input.EncryptionContext))
  })

  it('copies the input, so later changes to the parsed body do not reach the handler', () => {
    const body = { KeyId: KEY_ID, Plaintext: 'AA==', EncryptionContext: { a: 'b' } }
    const input = validateInput('Encrypt', body) as { EncryptionContext: Record<string, string> }
    body.EncryptionContext.a = 'changed'
    assert.equal(input.EncryptionContext.a, 'b')
  })

  it('drops JSON nulls, as AWS treats them as absent', () => {
    const input = validateInput('CreateKey', { Description: null, KeyUsage: null })
    assert.deepEqual(input, {})
  })

  it('never puts a sensitive value in a message', () => {
    const secret = Buffer.alloc(4097, 0x41).toString('base64')
    try {
      validateInput('Encrypt', { KeyId: KEY_ID, Plaintext: secret })
      assert.fail('expected a ValidationException')
    } catch (error) {
      assert.ok(!(error as Error).message.includes(secret.slice(0, 16)))
    }
  })
})
