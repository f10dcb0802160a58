import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  aliasNotFound,
  ciphertextKeyNotAccessible,
  invalidArnRegion,
  invalidKeyId,
  keyDisabled,
  keyInInvalidState,
  keyNotFound,
  keyNotPendingDeletion,
  notAuthorizedByResourcePolicy,
  reservedTagPrefix,
} from '../../src/domain/errors/messages.js'
import { AWS_MESSAGES } from '../support/aws-messages.js'

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'

/**
 * The shared message templates, row by row: the exception name and AWS's text as recorded
 * (../shared/reference/aws-recorded-errors.md). The operation tests assert the same texts on
 * the wire; this table catches a template that drifts for a path no test reaches.
 */
const ROWS: ReadonlyArray<{ name: string; error: Error; exception: string; message: string }> = [
  {
    name: 'invalidKeyId',
    error: invalidKeyId('alias/x'),
    exception: 'NotFoundException',
    message: "Invalid keyId 'alias/x'",
  },
  {
    name: 'invalidArnRegion',
    error: invalidArnRegion('eu-west-1'),
    exception: 'NotFoundException',
    message: 'Invalid arn eu-west-1',
  },
  {
    name: 'keyNotFound',
    error: keyNotFound(KEY),
    exception: 'NotFoundException',
    message: `Key '${KEY}' does not exist`,
  },
  {
    name: 'aliasNotFound',
    error: aliasNotFound('arn:aws:kms:us-east-1:111122223333:alias/none'),
    exception: 'NotFoundException',
    message: 'Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.',
  },
  {
    name: 'notAuthorizedByResourcePolicy',
    error: notAuthorizedByResourcePolicy({
      callerArn: 'arn:aws:iam::444455556666:user/other',
      resourceArn: KEY,
    }),
    exception: 'AccessDeniedException',
    message: `User: arn:aws:iam::444455556666:user/other is not authorized to perform this operation on resource: ${KEY} because no resource-based policy allows it`,
  },
  {
    name: 'ciphertextKeyNotAccessible',
    error: ciphertextKeyNotAccessible(),
    exception: 'AccessDeniedException',
    message: AWS_MESSAGES.accessDeniedCiphertext,
  },
  {
    name: 'keyDisabled',
    error: keyDisabled(KEY),
    exception: 'DisabledException',
    message: `${KEY} is disabled.`,
  },
  {
    name: 'keyInInvalidState PendingDeletion',
    error: keyInInvalidState(KEY, 'PendingDeletion'),
    exception: 'KMSInvalidStateException',
    message: `${KEY} is pending deletion.`,
  },
  {
    name: 'keyInInvalidState PendingImport',
    error: keyInInvalidState(KEY, 'PendingImport'),
    exception: 'KMSInvalidStateException',
    message: `${KEY} is pending import.`,
  },
  {
    name: 'keyInInvalidState Unavailable',
    error: keyInInvalidState(KEY, 'Unavailable'),
    exception: 'KMSInvalidStateException',
    message: `${KEY} is unavailable.`,
  },
  {
    name: 'keyNotPendingDeletion',
    error: keyNotPendingDeletion(KEY),
    exception: 'KMSInvalidStateException',
    message: `${KEY} is not pending deletion.`,
  },
  {
    name: 'reservedTagPrefix',
    error: reservedTagPrefix(),
    exception: 'TagException',
    message: 'Tags beginning with aws: are reserved',
  },
]

describe('shared error message templates', () => {
  for (const row of ROWS) {
    it(`${row.name}: ${row.exception} "${row.message}"`, () => {
      assert.equal(row.error.name, row.exception)
      assert.equal(row.error.message, row.message)
    })
  }
})
