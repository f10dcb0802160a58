import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  loadSoftwareRootKey,
  SoftwareRootKey,
} from '../../src/adapters/root-key/software-root-key.js'
import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import { createEmbeddedKeyward, createKeyward } from '../../src/server.js'
import { CapturingLogger } from '../support/keyward-server.js'

const CONTEXT =
  'keyward:key-material:v1:us-east-1:1234abcd-12ab-34cd-56ef-1234567890ab:' + 'a'.repeat(64)
const REFUSED =
  'The root key does not match the one this database was created with; refusing to start (the keys would be unreadable).'

describe('SoftwareRootKey', () => {
  const root = new SoftwareRootKey(randomBytes(32))
  const material = randomBytes(32)

  it('unwraps what it wrapped', async () => {
    const wrapped = await root.wrap(material, CONTEXT)
    assert.deepEqual(await root.unwrap(wrapped, CONTEXT), material)
  })

  it('writes version 1 ‖ 12-byte IV ‖ ciphertext ‖ 16-byte tag, with a fresh IV each time', async () => {
    const a = await root.wrap(material, CONTEXT)
    const b = await root.wrap(material, CONTEXT)
    assert.equal(a.length, 1 + 12 + material.length + 16)
    assert.equal(a[0], 1)
    assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13))
    assert.ok(!a.includes(material), 'the material does not appear in clear')
  })

  it('binds the context: another context does not unwrap', async () => {
    const wrapped = await root.wrap(material, CONTEXT)
    await assert.rejects(root.unwrap(wrapped, CONTEXT.replace('us-east-1', 'eu-west-1')))
    await assert.rejects(root.unwrap(wrapped, ''))
  })

  it('refuses a blob changed in any byte, truncated, or of an unknown version', async () => {
    const wrapped = await root.wrap(material, CONTEXT)
    for (const at of [1, 13, wrapped.length - 1]) {
      const changed = Buffer.from(wrapped)
      changed[at]! ^= 1
      await assert.rejects(root.unwrap(changed, CONTEXT), `byte ${at}`)
    }
    await assert.rejects(root.unwrap(wrapped.subarray(0, 20), CONTEXT))
    const v2 = Buffer.from(wrapped)
    v2[0] = 2
    await assert.rejects(root.unwrap(v2, CONTEXT), /unknown format/)
  })

  it('does not unwrap under another root key', async () => {
    const wrapped = await root.wrap(material, CONTEXT)
    await assert.rejects(new SoftwareRootKey(randomBytes(32)).unwrap(wrapped, CONTEXT))
  })

  it('has a stable fingerprint that tells keys apart and does not reveal the key', () => {
    const bytes = randomBytes(32)
    const a = new SoftwareRootKey(bytes)
    assert.equal(a.fingerprint, new SoftwareRootKey(Buffer.from(bytes)).fingerprint)
    assert.notEqual(a.fingerprint, new SoftwareRootKey(randomBytes(32)).fingerprint)
    assert.match(a.fingerprint, /^[0-9a-f]{32}$/)
    assert.ok(!bytes.toString('hex').includes(a.fingerprint))
  })

  it('keeps its own copy of the key bytes', async () => {
    const bytes = randomBytes(32)
    const key = new SoftwareRootKey(bytes)
    const wrapped = await key.wrap(material, CONTEXT)
    bytes.fill(0)
    assert.deepEqual(await key.unwrap(wrapped, CONTEXT), material)
  })

  it('refuses a key that is not 32 bytes', () => {
    for (const n of [0, 16, 31, 33, 64]) {
      assert.throws(() => new SoftwareRootKey(Buffer.alloc(n)), {
        message: 'the root key must be exactly 32 bytes',
      })
    }
  })
})

describe('loadSoftwareRootKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-root-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('creates root.key on first start, readable by its owner only', () => {
    const path = join(dir, 'first.key')
    const loaded = loadSoftwareRootKey({ path })
    assert.equal(loaded.created, true)
    assert.equal(loaded.source, path)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    const text = readFileSync(path, 'utf8')
    assert.match(text, /^[A-Za-z0-9+/]{43}=\n$/)
    const fromFile = new SoftwareRootKey(Buffer.from(text.trim(), 'base64'))
    assert.equal(loaded.rootKey.fingerprint, fromFile.fingerprint)
  })

  it('never overwrites an existing root key file', () => {
    const path = join(dir, 'existing.key')
    const bytes = randomBytes(32)
    writeFileSync(path, bytes.toString('base64') + '\n', { mode: 0o600 })
    const before = readFileSync(path)
    for (let i = 0; i < 2; i++) {
      const loaded = loadSoftwareRootKey({ path })
      assert.equal(loaded.created, false)
      assert.equal(loaded.rootKey.fingerprint, new SoftwareRootKey(bytes).fingerprint)
    }
    assert.deepEqual(readFileSync(path), before)
  })

  it('refuses a root key file that does not hold 32 bytes', () => {
    const path = join(dir, 'short.key')
    writeFileSync(path, randomBytes(16).toString('base64'), { mode: 0o600 })
    assert.throws(() => loadSoftwareRootKey({ path }), {
      message: `${path}: the root key must be exactly 32 bytes (base64 of 32 random bytes); it holds 16.`,
    })
    assert.equal(readFileSync(path, 'utf8').length, 24, 'left as it was')
  })

  it('takes KEYWARD_ROOT_KEY over the file, and writes no file', () => {
    const path = join(dir, 'unused.key')
    const bytes = randomBytes(32)
    const loaded = loadSoftwareRootKey({ path, env: `${bytes.toString('base64')}\n` })
    assert.equal(loaded.source, 'KEYWARD_ROOT_KEY')
    assert.equal(loaded.created, false)
    assert.equal(loaded.rootKey.fingerprint, new SoftwareRootKey(bytes).fingerprint)
    assert.equal(existsSync(path), false)
  })

  it('refuses a KEYWARD_ROOT_KEY that is not base64 of 32 bytes', () => {
    for (const [env, bytes] of [
      [randomBytes(16).toString('base64'), 16],
      [randomBytes(32).toString('hex'), 48],
    ] as const) {
      assert.throws(() => loadSoftwareRootKey({ path: join(dir, 'x.key'), env }), {
        message: `KEYWARD_ROOT_KEY: the root key must be exactly 32 bytes (base64 of 32 random bytes); it holds ${bytes}.`,
      })
    }
  })
})

describe('start-up with another root key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-rootcheck-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const principals = { credentials: new Map() }

  it('refuses a database created under another root key, and accepts the right one', async () => {
    const path = join(dir, 'keyward.db')
    const first = new SoftwareRootKey(randomBytes(32))
    const created = await createKeyward({
      store: await openSqliteKeyStore(path),
      rootKey: first,
      principals,
      logger: new CapturingLogger(),
    })
    await created.close()

    const store = await openSqliteKeyStore(path)
    await assert.rejects(
      createKeyward({
        store,
        rootKey: new SoftwareRootKey(randomBytes(32)),
        principals,
        logger: new CapturingLogger(),
      }),
      { message: REFUSED },
    )
    await store.close()

    const again = await createKeyward({
      store: await openSqliteKeyStore(path),
      rootKey: first,
      principals,
      logger: new CapturingLogger(),
    })
    await again.close()
  })

  it('refuses, in the embedded preset, a KEYWARD_ROOT_KEY other than the data directory’s', async () => {
    const dataDir = join(dir, 'embedded')
    const logger = new CapturingLogger()
    const first = await createEmbeddedKeyward({ dataDir, env: {}, logger })
    await first.keyward.close()
    await assert.rejects(
      createEmbeddedKeyward({
        dataDir,
        env: { KEYWARD_ROOT_KEY: randomBytes(32).toString('base64') },
        logger,
      }),
      {
        message: `The root key (KEYWARD_ROOT_KEY) does not match the one the database ${join(dataDir, 'keyward.db')} was created with; refusing to start (the keys would be unreadable).`,
      },
    )
    // A refused start leaves the directory as it was: it opens again with its own key.
    const again = await createEmbeddedKeyward({ dataDir, env: {}, logger })
    assert.equal(again.rootKeySource, join(dataDir, 'root.key'))
    await again.keyward.close()
  })
})

describe('start-up without the root key the database records (issue 10)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-rootmissing-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses, naming the path, and creates no root.key', async () => {
    const dataDir = join(dir, 'data')
    const logger = new CapturingLogger()
    const first = await createEmbeddedKeyward({ dataDir, env: {}, logger })
    await first.keyward.close()
    const path = join(dataDir, 'root.key')
    rmSync(path)
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(createEmbeddedKeyward({ dataDir, env: {}, logger }), {
        message: `The root key file ${path} is missing, but the database ${join(dataDir, 'keyward.db')} was created with a root key: every key in it is wrapped under that key and unreadable without it. Refusing to start, and not creating a new root key. Restore root.key from your backup to ${path} (mode 0600), or set KEYWARD_ROOT_KEY to its content; a new root key would not open these keys.`,
      })
      assert.equal(existsSync(path), false, 'no new root key where the real one belongs')
    }
  })

  it('still creates root.key for a new database, and when the database records none', () => {
    const path = join(dir, 'fresh.key')
    assert.equal(loadSoftwareRootKey({ path }).created, true)
  })
})

describe('root key file permissions (issue 10)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-rootmode-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses a root.key that others can read, naming the file and the fix', async () => {
    const dataDir = join(dir, 'refused')
    const logger = new CapturingLogger()
    const first = await createEmbeddedKeyward({ dataDir, env: {}, logger })
    await first.keyward.close()
    const path = join(dataDir, 'root.key')
    for (const mode of [0o640, 0o604, 0o660]) {
      chmodSync(path, mode)
      await assert.rejects(createEmbeddedKeyward({ dataDir, env: {}, logger }), {
        message: `The root key file ${path} can be read or written by other users (mode 0${mode.toString(8)}); run: chmod 600 ${path}. Refusing to start; --allow-insecure-permissions (KEYWARD_ALLOW_INSECURE_PERMISSIONS=1) starts anyway.`,
      })
    }
    chmodSync(path, 0o400)
    const owner = await createEmbeddedKeyward({ dataDir, env: {}, logger })
    await owner.keyward.close()
  })

  it('starts with a warning when insecure permissions are allowed', async () => {
    const dataDir = join(dir, 'allowed')
    const logger = new CapturingLogger()
    const first = await createEmbeddedKeyward({ dataDir, env: {}, logger })
    await first.keyward.close()
    const path = join(dataDir, 'root.key')
    chmodSync(path, 0o644)
    const again = await createEmbeddedKeyward({
      dataDir,
      env: {},
      logger,
      allowInsecurePermissions: true,
    })
    await again.keyward.close()
    assert.ok(
      logger.lines.some(
        (l) =>
          (JSON.parse(l) as { message: string }).message ===
          `The root key file ${path} can be read or written by other users (mode 0644); run: chmod 600 ${path} (started anyway: --allow-insecure-permissions).`,
      ),
      JSON.stringify(logger.lines),
    )
  })
})
