import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms'
import { createEmbeddedKeyward } from '../../src/server.js'
import { runKeyward } from '../support/cli-process.js'
import { freshSchema, PG_SKIP } from '../support/postgres.js'
import { NODE_ROOT_KEY, startNode } from '../support/postgres-nodes.js'
import { ADMIN } from '../support/keyward-server.js'

/** `keyward migrate --from <data dir> --to postgres://…` (issue 13, "Faults"). */

const run = (args: string[]) => runKeyward(args, { timeoutMs: 120_000 })

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'root',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
})

describe('keyward migrate', { skip: PG_SKIP, timeout: 180_000 }, () => {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve(cleanup()).catch(() => undefined)
  })

  it('moves a SQLite database into PostgreSQL: keys, aliases, tags, policies, grants, ciphertexts', async () => {
    // A SQLite server with some of everything, then stopped.
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-migrate-'))
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
    const { keyward } = await createEmbeddedKeyward({
      dataDir,
      dev: true,
      env: { KEYWARD_ROOT_KEY: NODE_ROOT_KEY },
    })
    const address = await keyward.listen(0, '127.0.0.1')
    const sqlite = new KMSClient({
      endpoint: `http://127.0.0.1:${address.port}`,
      region: 'us-east-1',
      credentials: ADMIN,
      maxAttempts: 1,
    })
    const made: Array<{ keyId: string; blob: Uint8Array; plaintext: string }> = []
    for (let i = 0; i < 3; i++) {
      const { KeyMetadata } = await sqlite.send(
        new CreateKeyCommand({ Tags: [{ TagKey: 'n', TagValue: String(i) }] }),
      )
      const keyId = KeyMetadata!.KeyId!
      await sqlite.send(new CreateAliasCommand({ AliasName: `alias/m${i}`, TargetKeyId: keyId }))
      await sqlite.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: POLICY }))
      await sqlite.send(
        new CreateGrantCommand({
          KeyId: keyId,
          GranteePrincipal: 'arn:aws:iam::111122223333:role/app',
          Operations: ['Decrypt'],
        }),
      )
      const plaintext = `secret ${i}`
      const { CiphertextBlob } = await sqlite.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext) }),
      )
      made.push({ keyId, blob: CiphertextBlob!, plaintext })
    }
    sqlite.destroy()
    await keyward.close()

    const { url, drop } = await freshSchema()
    cleanups.push(drop)
    const copied = run(['migrate', '--from', dataDir, '--to', url])
    assert.equal(copied.status, 0, copied.stderr)
    assert.match(copied.stderr, /^kms_keys: 3 rows$/m, 'progress')
    assert.match(copied.stdout, /kms_keys 3, kms_key_materials 3, kms_aliases 3, .*kms_grants 3/)

    // A node over PostgreSQL with the same root key serves all of it.
    const node = await startNode({ storeUrl: url })
    cleanups.push(() => node.close())
    const kms = node.client()
    for (const [i, { keyId, blob, plaintext }] of made.entries()) {
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: `alias/m${i}` }))
      assert.equal(KeyMetadata?.KeyId, keyId)
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: blob }))
      assert.equal(Buffer.from(Plaintext!).toString(), plaintext)
      const tags = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))
      assert.deepEqual(tags.Tags, [{ TagKey: 'n', TagValue: String(i) }])
      const policy = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))
      assert.equal(policy.Policy, POLICY)
      const grants = await kms.send(new ListGrantsCommand({ KeyId: keyId }))
      assert.equal(grants.Grants?.length, 1)
    }
    const aliases = await kms.send(new ListAliasesCommand({}))
    assert.deepEqual(
      aliases.Aliases?.filter((a) => a.AliasName?.startsWith('alias/m')).map((a) => a.AliasName),
      ['alias/m0', 'alias/m1', 'alias/m2'],
    )

    // Into a database that holds keys: refused, nothing changed.
    const again = run(['migrate', '--from', dataDir, '--to', url])
    assert.equal(again.status, 1)
    assert.match(
      again.stderr,
      /the target database is not empty \(kms_keys has rows\); refusing to copy into it/,
    )
  })
})
