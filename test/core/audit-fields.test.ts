import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { AUDIT_FIELDS, requestParameters, responseElements } from '../../src/core/audit-fields.js'
import { OPERATION_NAMES } from '../../src/wire/generated/model.js'

/** The model's operations with each input member's facts (model/kms-ops.json). */
const MODEL = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../model/kms-ops.json', import.meta.url)), 'utf8'),
) as Record<string, { input?: Record<string, { sensitive?: boolean }> }>

/**
 * Members that are secrets, data or credentials, whatever the model marks: none may be in an
 * allow-list (plaintexts, ciphertexts, key material, messages, signatures and MACs, tokens,
 * passwords, proxy credentials, attestation documents).
 */
const NEVER = new Set([
  'Plaintext',
  'CiphertextBlob',
  'PrivateKeyPlaintext',
  'PrivateKeyCiphertextBlob',
  'CiphertextForRecipient',
  'SharedSecret',
  'EncryptedKeyMaterial',
  'ImportToken',
  'GrantToken',
  'GrantTokens',
  'KeyStorePassword',
  'XksProxyAuthenticationCredential',
  'Message',
  'Signature',
  'Mac',
  'Recipient',
])

describe('the audit allow-lists (src/core/audit-fields.ts)', () => {
  it('has a row for every operation of the model', () => {
    assert.deepEqual(Object.keys(AUDIT_FIELDS).sort(), [...OPERATION_NAMES].sort())
  })

  for (const operation of OPERATION_NAMES) {
    it(`${operation}: no secret, no sensitive member`, () => {
      const fields = AUDIT_FIELDS[operation] as {
        readonly request: readonly string[]
        readonly response: readonly string[]
      }
      const sensitive = Object.entries(MODEL[operation]?.input ?? {})
        .filter(([, facts]) => facts.sensitive)
        .map(([name]) => name)
      for (const member of [...fields.request, ...fields.response]) {
        assert.ok(!NEVER.has(member) && !sensitive.includes(member), member)
      }
    })
  }

  it('keeps encryption context keys as given, camelCases structures, drops bytes', () => {
    assert.deepEqual(
      requestParameters('CreateGrant', {
        KeyId: 'k',
        GranteePrincipal: 'p',
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextEquals: { Department: 'IT' } },
        GrantTokens: ['token'],
      }),
      {
        keyId: 'k',
        granteePrincipal: 'p',
        operations: ['Decrypt'],
        constraints: { encryptionContextEquals: { Department: 'IT' } },
      },
    )
    assert.deepEqual(
      responseElements('CreateKey', {
        KeyMetadata: { KeyId: 'k', CreationDate: new Date(0), Blob: Buffer.from('x') },
      }),
      { keyMetadata: { keyId: 'k', creationDate: '1970-01-01T00:00:00.000Z' } },
    )
    assert.equal(
      responseElements('Encrypt', { CiphertextBlob: Buffer.from('x'), KeyId: 'k' }),
      null,
    )
  })
})
