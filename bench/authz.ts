import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { callKms, type BenchCredentials, type KmsCall } from './signing.js'

/**
 * The authorization scenario of the bench (issue 12): Encrypt as a non-admin user under a key
 * whose policy looks like a production one, measured beside the admin's Encrypt in the same run.
 *
 * - The key policy has the four statements AWS's console and the Developer Guide ("Default key
 *   policy", "Allows key users to use the KMS key", "Using encryption context in a policy")
 *   show: the account (delegation to IAM), the key administrators, the key users allowed only
 *   with `kms:EncryptionContext:app`, and a Deny of encryption without any encryption context.
 * - The user also holds an identity policy (allowing the key operations on the account's keys),
 *   so both the key policy and the identity policy are evaluated.
 * - Ten grants on the key (for other principals, as applications accumulate them): AWS reads
 *   grants only when the policies do not allow, and they must not slow the call when they do.
 *
 * Target: the non-admin call keeps at least {@link TARGET_AUTHZ_RATIO} of the admin call's
 * requests per second (same server, same connections, same run).
 */

/** The non-admin Encrypt must keep at least this share of the admin Encrypt's requests/s. */
export const TARGET_AUTHZ_RATIO = 0.9
export const AUTHZ_GRANTS = 10

const ACCOUNT = '111122223333'
const USER = 'bench-app'
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/${USER}`
const ADMIN_ARN = `arn:aws:iam::${ACCOUNT}:user/admin`
const ENCRYPTION_CONTEXT = { app: 'bench', tenant: 'acme' }

/** The non-admin user's access key (a fixed, bench-only credential). */
export const AUTHZ_USER_CREDENTIALS: BenchCredentials = {
  accessKeyId: 'AKIABENCHAPPUSER0001',
  secretAccessKey: 'bench-app-secret-not-for-production-0001',
}

const ADMINISTRATOR = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
}

/** The user's identity policy: the cryptographic operations on any key of the account. */
const USER_IDENTITY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'UseAccountKeys',
      Effect: 'Allow',
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
    },
  ],
}

/** Lets the account's principals assume a role (the roles the key policy names). */
const ACCOUNT_TRUST_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'sts:AssumeRole',
    },
  ],
}

/** The key policy: account delegation, administrators, users with a context, a deny. */
const KEY_POLICY = {
  Version: '2012-10-17',
  Id: 'bench-key-policy',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      Sid: 'Allow access for Key Administrators',
      Effect: 'Allow',
      Principal: { AWS: [ADMIN_ARN, `arn:aws:iam::${ACCOUNT}:role/KeyAdmins`] },
      Action: [
        'kms:Create*',
        'kms:Describe*',
        'kms:Enable*',
        'kms:List*',
        'kms:Put*',
        'kms:Update*',
        'kms:Revoke*',
        'kms:Disable*',
        'kms:Get*',
        'kms:Delete*',
        'kms:TagResource',
        'kms:UntagResource',
        'kms:ScheduleKeyDeletion',
        'kms:CancelKeyDeletion',
      ],
      Resource: '*',
    },
    {
      Sid: 'Allow use of the key with the application context',
      Effect: 'Allow',
      Principal: { AWS: [USER_ARN, `arn:aws:iam::${ACCOUNT}:role/bench-workers`] },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:app': 'bench' } },
    },
    {
      Sid: 'Deny encryption without an encryption context',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncryptTo'],
      Resource: '*',
      Condition: { Null: { 'kms:EncryptionContextKeys': 'true' } },
    },
  ],
}

/**
 * Writes `<dataDir>/principals.json` (mode 0600) before Keyward first starts there: the admin
 * with the bench's admin credential and the administrator policy, and the non-admin user with
 * its identity policy. Keyward keeps a file it finds (it writes one only when missing).
 */
export function writeAuthzPrincipals(dataDir: string, admin: BenchCredentials): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = {
    accounts: [
      {
        id: ACCOUNT,
        users: [
          {
            name: 'admin',
            accessKeys: [admin],
            policies: [{ name: 'administrator', document: ADMINISTRATOR }],
          },
          {
            name: USER,
            accessKeys: [AUTHZ_USER_CREDENTIALS],
            policies: [{ name: 'use-account-keys', document: USER_IDENTITY_POLICY }],
          },
        ],
        // The key policy names these roles; AWS (and Keyward) refuse a policy naming a
        // principal that does not exist.
        roles: ['KeyAdmins', 'bench-workers'].map((name) => ({
          name,
          trustPolicy: ACCOUNT_TRUST_POLICY,
          policies: [],
        })),
      },
    ],
  }
  writeFileSync(join(dataDir, 'principals.json'), JSON.stringify(file, null, 2) + '\n', {
    mode: 0o600,
  })
}

const kmsCall = (endpoint: string, op: string, options: { body: object; as: BenchCredentials }) =>
  ({
    endpoint,
    target: `TrentService.${op}`,
    body: JSON.stringify(options.body),
    credentials: options.as,
  }) satisfies KmsCall

/**
 * Creates, as the admin, the key with {@link KEY_POLICY} and its {@link AUTHZ_GRANTS} grants on
 * the Keyward at `endpoint`; returns the non-admin user's Encrypt call, the same request signed
 * by the admin (the fair comparison: only the principal differs), and the key ARN.
 */
export async function setUpAuthzKey(
  endpoint: string,
  options: { admin: BenchCredentials; plaintext: string },
): Promise<{ call: KmsCall; adminCall: KmsCall; arn: string }> {
  const as = options.admin
  const created = await callKms(
    kmsCall(endpoint, 'CreateKey', {
      body: { Description: 'keyward bench (authorization)', Policy: JSON.stringify(KEY_POLICY) },
      as,
    }),
  )
  const meta = created.KeyMetadata as { KeyId: string; Arn: string }
  for (let i = 0; i < AUTHZ_GRANTS; i++) {
    const grant = await callKms(
      kmsCall(endpoint, 'CreateGrant', {
        body: {
          KeyId: meta.KeyId,
          GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/bench-grantee-${i}`,
          Operations: ['Decrypt', 'GenerateDataKey'],
          Constraints: { EncryptionContextSubset: { tenant: `tenant-${i}` } },
          Name: `bench-grant-${i}`,
        },
        as,
      }),
    )
    if (typeof grant.GrantId !== 'string') throw new Error('CreateGrant gave no GrantId')
  }
  const body = {
    KeyId: meta.KeyId,
    Plaintext: options.plaintext,
    EncryptionContext: ENCRYPTION_CONTEXT,
  }
  return {
    call: kmsCall(endpoint, 'Encrypt', { body, as: AUTHZ_USER_CREDENTIALS }),
    adminCall: kmsCall(endpoint, 'Encrypt', { body, as }),
    arn: meta.Arn,
  }
}
