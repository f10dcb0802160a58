import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  TagResourceCommand,
  UpdateKeyDescriptionCommand,
  DescribeKeyCommand,
} from '@aws-sdk/client-kms'
import postgres from 'postgres'
import { openPostgresKeyStore } from '../../src/adapters/store-pg/open-postgres.js'
import { freshSchema, PG_SKIP, TEST_PG_URL } from '../support/postgres.js'
import { startNode, type TestNode } from '../support/postgres-nodes.js'

/**
 * Several Keyward nodes over one PostgreSQL database (issue 13, "Several nodes"): each node is
 * a whole server with its own caches and pool, as `keyward serve --store postgres://…` makes.
 */
describe('Keyward nodes over one PostgreSQL', { skip: PG_SKIP }, () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  })
  const nodes = async (count: number, options: { cacheTtlMs?: number } = {}) => {
    const { url, drop } = await freshSchema()
    cleanups.push(drop)
    const started: TestNode[] = []
    // One at a time: the first creates the schema and records the root key.
    for (let i = 0; i < count; i++) {
      const node = await startNode({ storeUrl: url, ...options })
      cleanups.push(() => node.close())
      started.push(node)
    }
    return { url, nodes: started }
  }

  it('loses no update when two nodes change one key at once', { timeout: 120_000 }, async () => {
    const {
      nodes: [a, b],
    } = await nodes(2)
    const kmsA = a!.client()
    const kmsB = b!.client()
    const { KeyMetadata } = await kmsA.send(new CreateKeyCommand({}))
    const KeyId = KeyMetadata!.KeyId!
    const N = 6
    type Kind = 'tag' | 'alias' | 'grant' | 'description' | 'rotate' | 'disable' | 'enable'
    const work = (kms: typeof kmsA, node: string) =>
      Array.from({ length: N }, (_, i) => {
        const calls: Array<[Kind, Promise<unknown>]> = [
          [
            'tag',
            kms.send(
              new TagResourceCommand({ KeyId, Tags: [{ TagKey: `${node}${i}`, TagValue: 'v' }] }),
            ),
          ],
          [
            'alias',
            kms.send(
              new CreateAliasCommand({ AliasName: `alias/${node}-${i}`, TargetKeyId: KeyId }),
            ),
          ],
          [
            'grant',
            kms.send(
              new CreateGrantCommand({
                KeyId,
                GranteePrincipal: `arn:aws:iam::111122223333:role/${node}${i}`,
                Operations: ['Encrypt'],
              }),
            ),
          ],
          [
            'description',
            kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: `${node}${i}` })),
          ],
        ]
        if (i < 3) calls.push(['rotate', kms.send(new RotateKeyOnDemandCommand({ KeyId }))])
        if (i % 2 === 0) {
          calls.push(['disable', kms.send(new DisableKeyCommand({ KeyId }))])
          calls.push(['enable', kms.send(new EnableKeyCommand({ KeyId }))])
        }
        return calls
      }).flat()
    const calls = [...work(kmsA, 'a'), ...work(kmsB, 'b')]
    const results = await Promise.allSettled(calls.map(([, call]) => call))
    const succeeded = (kind: Kind) =>
      results.filter((r, i) => calls[i]![0] === kind && r.status === 'fulfilled').length
    // Grants and rotations may meet a key that the other node just disabled: AWS refuses them
    // then (DisabledException); nothing else may fail.
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        assert.ok(['grant', 'rotate'].includes(calls[i]![0]), `${calls[i]![0]}: ${r.reason}`)
        assert.equal((r.reason as Error).name, 'DisabledException')
      }
    })
    await kmsA.send(new EnableKeyCommand({ KeyId }))

    // Every acknowledged change is there: a lost update would leave fewer.
    const tags = await kmsB.send(new ListResourceTagsCommand({ KeyId }))
    assert.equal(tags.Tags?.length, 2 * N, 'every tag of both nodes')
    const aliases = await kmsA.send(new ListAliasesCommand({ KeyId }))
    assert.equal(aliases.Aliases?.length, 2 * N, 'every alias of both nodes')
    const grants = await kmsB.send(new ListGrantsCommand({ KeyId }))
    assert.equal(grants.Grants?.length, succeeded('grant'), 'every acknowledged grant')
    assert.ok(succeeded('grant') > 0)
    const rotations = await kmsA.send(new ListKeyRotationsCommand({ KeyId }))
    assert.equal(rotations.Rotations?.length, succeeded('rotate'), 'every acknowledged rotation')
    const described = await kmsB.send(new DescribeKeyCommand({ KeyId }))
    assert.match(described.KeyMetadata!.Description!, /^[ab][0-5]$/)
  })

  it(
    'makes a change on one node take effect on the other within 1 s',
    { timeout: 60_000 },
    async () => {
      // A TTL far beyond the bound: only the LISTEN/NOTIFY path can meet it.
      const {
        nodes: [a, b],
      } = await nodes(2, { cacheTtlMs: 600_000 })
      const kmsA = a!.client()
      const kmsB = b!.client()
      const { KeyMetadata } = await kmsA.send(new CreateKeyCommand({}))
      const KeyId = KeyMetadata!.KeyId!
      const encryptOnB = () =>
        kmsB.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })).then(
          () => 'ok',
          (error: Error) => `${error.name}: ${error.message}`,
        )
      assert.equal(await encryptOnB(), 'ok', 'node B has the key cached')

      const until = async (expected: string) => {
        const started = performance.now()
        while (performance.now() - started < 5_000) {
          if ((await encryptOnB()) === expected) return performance.now() - started
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        assert.fail(`node B still answered otherwise than "${expected}" after 5 s`)
      }
      await kmsA.send(new DisableKeyCommand({ KeyId }))
      const disabledAfter = await until(`DisabledException: ${KeyMetadata!.Arn} is disabled.`)
      await kmsA.send(new EnableKeyCommand({ KeyId }))
      const enabledAfter = await until('ok')
      console.log(
        `change seen by the other node after ${disabledAfter.toFixed(0)} ms (disable), ${enabledAfter.toFixed(0)} ms (enable)`,
      )
      assert.ok(disabledAfter < 1_000, `disable seen after ${disabledAfter} ms`)
      assert.ok(enabledAfter < 1_000, `enable seen after ${enabledAfter} ms`)
    },
  )

  it('runs a scheduler job on one node at a time, and on another once the holder dies', async () => {
    const { url, drop } = await freshSchema()
    cleanups.push(drop)
    const [one, two] = await Promise.all([openPostgresKeyStore(url), openPostgresKeyStore(url)])
    cleanups.push(
      () => one.close(),
      () => two.close(),
    )
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const first = one.exclusive('rotate', async () => {
      await held
      return 'one'
    })
    // Wait until node one holds the job's lock.
    const admin = postgres(TEST_PG_URL!, { max: 1, onnotice: () => undefined })
    cleanups.push(() => admin.end())
    const holders = () =>
      admin<
        { pid: number }[]
      >`select pid from pg_locks where locktype = 'advisory' and classid = ${0x6b6a6f62} and granted`
    for (let i = 0; i < 100 && (await holders()).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(await two.exclusive('rotate', async () => 'two'), undefined, 'skipped while held')
    assert.equal(await two.exclusive('delete', async () => 'two'), 'two', 'another job runs')
    // The holder dies: its session, and the session lock with it, end.
    for (const { pid } of await holders()) await admin`select pg_terminate_backend(${pid})`
    release()
    await first.catch(() => undefined)
    assert.equal(await two.exclusive('rotate', async () => 'two'), 'two', 'taken over')
  })
})

if (!PG_SKIP) {
  describe('PostgreSQL store durability settings', () => {
    it('refuses a server that acknowledges commits before they are flushed', async () => {
      const { url, drop } = await freshSchema()
      try {
        const off = `${url}&synchronous_commit=off`
        await assert.rejects(openPostgresKeyStore(off), {
          message: `${off}: the server runs with synchronous_commit = off, which acknowledges commits a crash can lose; set synchronous_commit = on (or local, remote_write, remote_apply) for Keyward's database`,
        })
      } finally {
        await drop()
      }
    })
  })
}
