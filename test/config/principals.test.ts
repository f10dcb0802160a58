import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  ADMINISTRATOR_POLICY,
  adminAccessKey,
  createPrincipalsFileIfMissing,
  PrincipalsHolder,
  newAccessKeyId,
  newSecretAccessKey,
  readPrincipals,
  type PrincipalsFile,
} from '../../src/config/principals.js'

describe('principals file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-principals-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  const write = (content: unknown) => {
    const path = join(dir, `p${n++}.json`)
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
    return path
  }
  const account = (id: string, keys: Array<Record<string, string>>, name = 'alice') => ({
    id,
    users: [{ name, accessKeys: keys }],
  })

  it('maps every access key to its user, with the Regions served', () => {
    const path = write({
      regions: ['us-east-1', 'us-gov-west-1'],
      accounts: [
        account('111122223333', [{ accessKeyId: 'AKIA1', secretAccessKey: 's1' }]),
        account(
          '444455556666',
          [{ accessKeyId: 'ASIA2', secretAccessKey: 's2', sessionToken: 'token' }],
          'bob',
        ),
      ],
    })
    const p = readPrincipals(path)
    assert.deepEqual(p.regions, ['us-east-1', 'us-gov-west-1'])
    const alice = p.credentials.get('AKIA1')!
    assert.equal(alice.secretAccessKey, 's1')
    assert.equal(alice.sessionToken, undefined)
    assert.equal(alice.principal.accountId, '111122223333')
    assert.equal(alice.principal.arn, 'arn:aws:iam::111122223333:user/alice')
    assert.equal(alice.principal.accessKeyId, 'AKIA1')
    const bob = p.credentials.get('ASIA2')!
    assert.equal(bob.secretAccessKey, 's2')
    assert.equal(bob.sessionToken, 'token')
    assert.equal(bob.principal.arn, 'arn:aws:iam::444455556666:user/bob')
  })

  it('adds the root credential from the environment as the admin of 111122223333', () => {
    const path = write({ accounts: [] })
    const p = readPrincipals(path, { accessKeyId: 'AKIAROOT', secretAccessKey: 'root' })
    assert.equal(p.regions, undefined)
    assert.deepEqual(p.credentials.get('AKIAROOT'), {
      secretAccessKey: 'root',
      principal: { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/admin' },
    })
  })

  const REFUSED: Array<[string, unknown, string]> = [
    ['not JSON', '{"accounts": [', 'not valid JSON'],
    ['accounts not a list', { accounts: {} }, '/accounts: must be array'],
    [
      'a bad account id',
      { accounts: [account('12345', [])] },
      '/accounts/0/id: must match pattern',
    ],
    [
      'a user without a name',
      { accounts: [{ id: '111122223333', users: [{ accessKeys: [] }] }] },
      '/accounts/0/users/0: the member "name" is required',
    ],
    [
      'a key without its secret',
      { accounts: [account('111122223333', [{ accessKeyId: 'AKIA1' }])] },
      '/accounts/0/users/0/accessKeys/0: the member "secretAccessKey" is required',
    ],
    [
      'one access key ID twice',
      {
        accounts: [
          account('111122223333', [{ accessKeyId: 'AKIA1', secretAccessKey: 'a' }]),
          account('444455556666', [{ accessKeyId: 'AKIA1', secretAccessKey: 'b' }], 'bob'),
        ],
      },
      '/accounts/1/users/0/accessKeys/0: access key ID AKIA1 is listed twice',
    ],
    ['regions not a list', { regions: 'us-east-1', accounts: [] }, '/regions: must be array'],
    [
      'a Region that is not one',
      { regions: ['us-east-1', 'moon'], accounts: [] },
      '/regions/1: moon is not a Region name',
    ],
  ]
  for (const [name, content, why] of REFUSED) {
    it(`refuses ${name}`, () => {
      const path = write(content)
      assert.throws(
        () => readPrincipals(path),
        (e: Error) => e.message.startsWith(`${path}: ${why}`),
      )
    })
  }

  it('creates the file once, readable by its owner only, and never overwrites it', () => {
    const path = join(dir, 'created.json')
    const id = createPrincipalsFileIfMissing(path, {})
    assert.match(id!, /^AKIA[A-Z2-7]{16}$/)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    const before = readFileSync(path, 'utf8')
    const file = JSON.parse(before) as PrincipalsFile
    assert.equal(file.accounts[0]!.id, '111122223333')
    assert.equal(file.accounts[0]!.users[0]!.name, 'admin')
    assert.equal(file.accounts[0]!.users[0]!.accessKeys[0]!.accessKeyId, id)
    assert.equal(createPrincipalsFileIfMissing(path, { accessKeyId: 'AKIAOTHER' }), undefined)
    assert.equal(readFileSync(path, 'utf8'), before)
    assert.ok(readPrincipals(path).credentials.has(id!))
  })

  it('creates the first admin from the given credential', () => {
    const path = join(dir, 'given.json')
    const given = { accessKeyId: 'AKIAGIVEN', secretAccessKey: 'given-secret' }
    assert.equal(createPrincipalsFileIfMissing(path, given), 'AKIAGIVEN')
    assert.equal(readPrincipals(path).credentials.get('AKIAGIVEN')?.secretAccessKey, 'given-secret')
  })

  it('issues access keys in AWS shapes, different every time', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newAccessKeyId()))
    assert.equal(ids.size, 50)
    for (const id of ids) assert.match(id, /^AKIA[A-Z2-7]{16}$/)
    const secret = newSecretAccessKey()
    assert.match(secret, /^[A-Za-z0-9]{40}$/)
    assert.notEqual(secret, newSecretAccessKey())
  })

  it('adminAccessKey: the first long-term key of the admin of 111122223333, or the preferred one', () => {
    const path = write({
      accounts: [
        account('444455556666', [{ accessKeyId: 'AKIAOTHER', secretAccessKey: 'o' }], 'admin'),
        {
          id: '111122223333',
          users: [
            { name: 'alice', accessKeys: [{ accessKeyId: 'AKIAALICE', secretAccessKey: 'a' }] },
            {
              name: 'admin',
              accessKeys: [
                { accessKeyId: 'ASIATEMP', secretAccessKey: 't', sessionToken: 'x' },
                { accessKeyId: 'AKIAADMIN1', secretAccessKey: 's1' },
                { accessKeyId: 'AKIAADMIN2', secretAccessKey: 's2' },
              ],
            },
          ],
        },
      ],
    })
    const p = readPrincipals(path, { accessKeyId: 'AKIAENV', secretAccessKey: 'env' })
    assert.deepEqual(adminAccessKey(p), { accessKeyId: 'AKIAADMIN1', secretAccessKey: 's1' })
    assert.deepEqual(adminAccessKey(p, 'AKIAENV'), {
      accessKeyId: 'AKIAENV',
      secretAccessKey: 'env',
    })
    assert.equal(adminAccessKey(readPrincipals(write({ accounts: [] }))), undefined)
  })

  it('PrincipalsHolder swaps the principals in force', () => {
    const one = readPrincipals(write({ accounts: [] }))
    const two = readPrincipals(write({ regions: ['us-east-1'], accounts: [] }))
    const holder = new PrincipalsHolder(one)
    assert.equal(holder.current(), one)
    holder.replace(two)
    assert.equal(holder.current(), two)
  })
})

describe('principals file v2: policies, groups, roles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-principals-v2-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  const write = (content: unknown) => {
    const path = join(dir, `p${n++}.json`)
    writeFileSync(path, JSON.stringify(content))
    return path
  }
  const KEY = { accessKeyId: 'AKIAV2', secretAccessKey: 's' }
  const policy = (action: string) => ({
    name: 'p',
    document: {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: action, Resource: '*' },
    },
  })

  it('a file written before policies keeps its meaning: its users are administrators, listed once', () => {
    const p = readPrincipals(
      write({ accounts: [{ id: '111122223333', users: [{ name: 'old', accessKeys: [KEY] }] }] }),
    )
    const caller = p.credentials.get('AKIAV2')!.principal
    assert.equal(caller.identityPolicies, undefined)
    assert.deepEqual(p.legacyAdministrators, ['arn:aws:iam::111122223333:user/old'])
  })

  it("a user with policies holds its own and its groups' documents, with tags; [] means none", () => {
    const p = readPrincipals(
      write({
        accounts: [
          {
            id: '111122223333',
            users: [
              {
                name: 'u',
                accessKeys: [KEY],
                policies: [policy('kms:Encrypt')],
                tags: { a: 'b' },
                groups: ['g'],
              },
              {
                name: 'none',
                accessKeys: [{ accessKeyId: 'AKIANONE', secretAccessKey: 's' }],
                policies: [],
              },
            ],
            groups: [{ name: 'g', policies: [policy('kms:Decrypt')] }],
          },
        ],
      }),
    )
    const caller = p.credentials.get('AKIAV2')!.principal
    assert.deepEqual(caller.identityPolicies, [
      policy('kms:Encrypt').document,
      policy('kms:Decrypt').document,
    ])
    assert.deepEqual(caller.tags, { a: 'b' })
    assert.equal(caller.principalType, 'user')
    assert.equal(caller.userName, 'u')
    assert.deepEqual(p.credentials.get('AKIANONE')!.principal.identityPolicies, [])
    assert.deepEqual(p.legacyAdministrators, [])
  })

  it('roles: trust policy compiled, default MaxSessionDuration 3600', () => {
    const p = readPrincipals(
      write({
        accounts: [
          {
            id: '111122223333',
            users: [],
            roles: [
              {
                name: 'r',
                trustPolicy: {
                  Version: '2012-10-17',
                  Statement: [
                    {
                      Effect: 'Allow',
                      Principal: { AWS: '444455556666' },
                      Action: 'sts:AssumeRole',
                    },
                  ],
                },
                policies: [policy('kms:*')],
              },
            ],
          },
        ],
      }),
    )
    const role = p.roles!.get('arn:aws:iam::111122223333:role/r')!
    assert.equal(role.maxSessionDuration, 3600)
    assert.match(role.roleId, /^AROA[A-Z2-7]{17}$/)
    assert.deepEqual(role.trustPolicy.principals, ['arn:aws:iam::444455556666:root'])
  })

  const account = (extra: Record<string, unknown>) => ({
    accounts: [{ id: '111122223333', users: [], ...extra }],
  })
  const REFUSED: Array<[string, unknown, string]> = [
    [
      'an unknown member, by its path',
      account({ users: [{ name: 'u', accessKeys: [], polices: [] }] }),
      '/accounts/0/users/0: unknown member "polices"',
    ],
    [
      'a user name IAM would not take',
      account({ users: [{ name: 'a b', accessKeys: [] }] }),
      '/accounts/0/users/0/name: must match pattern "^[\\w+=,.@-]{1,64}$"',
    ],
    [
      'a policy without its document',
      account({ users: [{ name: 'u', accessKeys: [], policies: [{ name: 'x' }] }] }),
      '/accounts/0/users/0/policies/0: the member "document" is required',
    ],
    [
      'a malformed identity policy, naming the user',
      account({
        users: [
          {
            name: 'u',
            accessKeys: [],
            policies: [
              {
                name: 'bad',
                document: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }],
                },
              },
            ],
          },
        ],
      }),
      '/accounts/0/users/0/policies/0/document (policy bad of user u): ',
    ],
    [
      'a malformed trust policy, naming the role',
      account({ roles: [{ name: 'r', trustPolicy: { Statement: [] }, policies: [] }] }),
      '/accounts/0/roles/0/trustPolicy (trust policy of role r): ',
    ],
    [
      'a group that does not exist',
      account({ users: [{ name: 'u', accessKeys: [], groups: ['ghost'] }] }),
      '/accounts/0/users/0/groups/0: user u names group ghost, which account 111122223333 does not have',
    ],
    [
      'a MaxSessionDuration over 12 hours',
      account({ roles: [{ name: 'r', trustPolicy: {}, policies: [], maxSessionDuration: 43201 }] }),
      '/accounts/0/roles/0/maxSessionDuration: must be <= 43200',
    ],
  ]
  for (const [name, content, why] of REFUSED) {
    it(`refuses ${name}`, () => {
      const path = write(content)
      assert.throws(
        () => readPrincipals(path),
        (e: Error) => e.message.startsWith(`${path}: ${why}`),
      )
    })
  }

  it('the admin created on first start holds the administrator policy', () => {
    const path = join(dir, 'first.json')
    createPrincipalsFileIfMissing(path, {})
    const file = JSON.parse(readFileSync(path, 'utf8')) as PrincipalsFile
    assert.deepEqual(file.accounts[0]!.users[0]!.policies, [ADMINISTRATOR_POLICY])
    const p = readPrincipals(path)
    assert.deepEqual(p.legacyAdministrators, [])
    assert.deepEqual([...p.credentials.values()][0]!.principal.identityPolicies, [
      ADMINISTRATOR_POLICY.document,
    ])
  })
})
