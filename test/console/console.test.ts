import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  ListGrantsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms'
import { chromium, type BrowserContext, type Download, type Page } from 'playwright-core'
import {
  CLUSTER,
  PIN_A,
  startTestHsm,
  TRUST_ANCHOR,
  type TestHsm,
} from '../support/hsm-clusters.js'
import { REPO_ROOT } from '../support/cli-process.js'
import { ADMIN, startKeyward, type TestServer } from '../support/keyward-server.js'
import { OpenSslWorkspace } from '../support/openssl.js'
import { SOFTHSM_MISSING } from '../support/softhsm.js'

/**
 * The web console (issue 16) in a real browser: Debian's chromium driven by playwright-core
 * (never a downloaded browser), against a real Keyward on a loopback port. Screenshots of
 * every page at 1280 and 390 px go to test-artifacts/console/ (gitignored).
 */

const CHROMIUM = '/usr/bin/chromium'
const CONSOLE_INDEX = join(REPO_ROOT, 'console', 'dist', 'index.html')
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console')
/** The flags of a quiet, isolated headless browser that contacts nothing by itself. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const SESSION_KEY = 'keyward.console.session'
/** Keys made for the load-time measurement, in a Region of their own. */
const MANY_KEYS = 1_000
const MANY_REGION = 'eu-west-1'
/** The target for the Keys page with 1,000 keys. */
const KEYS_PAGE_BUDGET_MS = 1_000

/**
 * Skips only outside CI and only for a missing browser: in CI a skip would hide lost coverage
 * (scripts/system-deps.mjs installs chromium there). A missing build is never skipped.
 */
const SKIP =
  existsSync(CHROMIUM) || process.env.CI
    ? undefined
    : `chromium is not installed (${CHROMIUM}); install the chromium package (node scripts/system-deps.mjs does, as root)`

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

// About 45 s on an idle 2-core machine; the timeout only guards against a hang, with room for
// a machine shared with other builds (two minutes were seen at load average 19).
describe('web console in chromium', { skip: SKIP, timeout: 240_000 }, () => {
  let kw: TestServer
  let dev: TestServer
  let hsm: TestHsm | undefined
  let context: BrowserContext
  let page: Page
  let kms: KMSClient
  let manyKeys: Promise<void>
  const userDataDir = mkdtempSync(join(tmpdir(), 'keyward-chromium-'))
  const ws = new OpenSslWorkspace()
  const otherOrigins: string[] = []
  const cspViolations: string[] = []
  const pageErrors: string[] = []

  before(async () => {
    assert.ok(existsSync(CONSOLE_INDEX), `the console is built (${CONSOLE_INDEX}): npm run build`)
    rmSync(ARTIFACTS, { recursive: true, force: true })
    mkdirSync(ARTIFACTS, { recursive: true })
    if (SOFTHSM_MISSING === undefined) hsm = startTestHsm()
    kw = await startKeyward({
      regions: ['us-east-1', MANY_REGION],
      ...(hsm ? { cloudHsmClusters: hsm.clusters } : {}),
    })
    dev = await startKeyward({ dev: true })
    kms = kw.client()
    // The 1,000 keys of the load-time test are made through the SDK while the browser flows
    // run (they wait on the page far more than they compute); that test awaits them.
    const many = kw.client({ region: MANY_REGION })
    let made = 0
    manyKeys = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (made < MANY_KEYS) {
          made++
          await many.send(new CreateKeyCommand({}))
        }
      }),
    ).then(() => undefined)
    // Reported by the test that awaits it, not as an unhandled rejection before then.
    manyKeys.catch(() => undefined)
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    })
    context.setDefaultTimeout(15_000)
    context.on('request', (r) => {
      const url = r.url()
      const ours = url.startsWith(`${kw.endpoint}/`) || url.startsWith(`${dev.endpoint}/`)
      if (!ours && !url.startsWith('blob:') && !url.startsWith('data:')) otherOrigins.push(url)
    })
    page = context.pages()[0] ?? (await context.newPage())
    watch(page)
  })

  after(async () => {
    await context?.close()
    await kw?.close()
    await dev?.close()
    hsm?.hsm.cleanup()
    ws.remove()
    rmSync(userDataDir, { recursive: true, force: true })
  })

  function watch(p: Page) {
    p.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text())
    })
    p.on('pageerror', (e) => pageErrors.push(e.message))
  }

  /** Full-page screenshots at 1280 and 390 px wide, kept as test artifacts. */
  async function shoot(name: string, p: Page = page) {
    for (const width of [1280, 390]) {
      await p.setViewportSize({ width, height: 900 })
      await p.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true })
    }
    await p.setViewportSize({ width: 1280, height: 900 })
  }

  /** axe-core on the page as it is: no serious or critical violation. */
  async function checkAccessibility(what: string, p: Page = page) {
    // Evaluated through the DevTools protocol, which the page's CSP does not govern; an
    // injected <script> would be refused by it, as it should be.
    await p.evaluate(axeSource)
    const serious = (await p.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then(
      (r) => r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ')'))`)) as string[]
    assert.deepEqual(serious, [], `axe on ${what}`)
  }

  /**
   * Tab from the top of the page and check every visible enabled control is focused on the
   * way (of a radio group, the checked radio: arrows move within a group).
   */
  async function checkKeyboardReach(what: string, scope = 'body') {
    const count = (await page.evaluate(`(() => {
      const scope = document.querySelector(${JSON.stringify(scope)})
      const all = [...scope.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
      const wanted = all.filter((e) => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0
        && getComputedStyle(e).visibility !== 'hidden' && !(e.type === 'radio' && !e.checked))
      document.querySelectorAll('[data-kw-tab]').forEach((e) => e.removeAttribute('data-kw-tab'))
      wanted.forEach((e, i) => e.setAttribute('data-kw-tab', String(i)))
      return wanted.length
    })()`)) as number
    assert.ok(count > 0, `${what}: controls found`)
    const seen = new Set<string>()
    for (let i = 0; i < count * 2 + 10 && seen.size < count; i++) {
      await page.keyboard.press('Tab')
      const at = (await page.evaluate(
        `document.activeElement && document.activeElement.getAttribute('data-kw-tab')`,
      )) as string | null
      if (at !== null) seen.add(at)
    }
    const missed = (await page.evaluate(`[...document.querySelectorAll('[data-kw-tab]')]
      .filter((e) => !${JSON.stringify([...seen])}.includes(e.getAttribute('data-kw-tab')))
      .map((e) => e.outerHTML.slice(0, 80))`)) as string[]
    assert.deepEqual(missed, [], `${what}: every control is reachable with Tab`)
  }

  const row = (text: string) => page.locator('tbody tr', { hasText: text })
  const statusOf = (text: string) => row(text).locator('td.status')
  const waitForStatus = (text: string, status: string) =>
    statusOf(text).filter({ hasText: status }).waitFor()

  async function signIn(secret: string) {
    await page.locator('#access-key-id').fill(ADMIN.accessKeyId)
    await page.locator('#secret-access-key').fill(secret)
    await page.locator('#region').selectOption('us-east-1')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Keys' }).waitFor()
  }

  async function createKey(options: { alias: string; advanced?: () => Promise<void> }) {
    await page.getByRole('button', { name: 'Create key' }).click()
    const dialog = page.getByRole('dialog', { name: 'Create key' })
    await dialog.waitFor()
    await dialog.locator('#alias-name').fill(options.alias)
    await options.advanced?.()
    await dialog.getByRole('button', { name: 'Create key' }).click()
    await dialog.waitFor({ state: 'detached' })
    const notice = (await page.locator('.notice').textContent()) ?? ''
    const keyId = /Created key (\S+)\./.exec(notice)?.[1]
    assert.ok(keyId, notice)
    await row(`alias/${options.alias}`).waitFor()
    return keyId
  }

  it('signs in with an access key pair kept in session storage; a refused call shows its message', async () => {
    await page.goto(`${kw.endpoint}/console/`)
    await page.getByRole('heading', { name: 'Sign in to Keyward' }).waitFor()
    await shoot('sign-in')
    await checkAccessibility('the sign-in page')
    // A wrong secret is refused by the server, and the page shows AWS's answer as it is.
    const refused = await new KMSClient({
      endpoint: kw.endpoint,
      region: 'us-east-1',
      credentials: { ...ADMIN, secretAccessKey: 'wrong-secret' },
      maxAttempts: 1,
    })
      .send(new ListKeysCommand({}))
      .then(
        () => assert.fail('a wrong secret is refused'),
        (e: Error) => `${e.name}: ${e.message}`,
      )
    await signIn('wrong-secret')
    assert.equal(await page.getByRole('alert').textContent(), refused)
    const stored = (await page.evaluate(`sessionStorage.getItem('${SESSION_KEY}')`)) as string
    assert.equal((JSON.parse(stored) as { region: string }).region, 'us-east-1')
    assert.equal(
      await page.evaluate(`localStorage.length + document.cookie.length`),
      0,
      'nothing but session storage holds the credentials',
    )
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in to Keyward' }).waitFor()
    assert.equal(await page.evaluate(`sessionStorage.getItem('${SESSION_KEY}')`), null)
    await signIn(ADMIN.secretAccessKey)
    await page.locator('table[aria-busy="false"]').waitFor()
    assert.equal(await page.getByRole('alert').count(), 0)
  })

  it('creates a symmetric key with an alias, disables it, schedules deletion in 7 days and cancels it', async () => {
    const keyId = await createKey({ alias: 'console-e2e' })
    await waitForStatus('alias/console-e2e', 'Enabled')
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/console-e2e' }))
    assert.equal(described.KeyMetadata?.KeyId, keyId)
    assert.equal(described.KeyMetadata?.KeySpec, 'SYMMETRIC_DEFAULT')
    await shoot('keys')
    await checkAccessibility('the Keys page')
    await checkKeyboardReach('the Keys page')

    await page.getByRole('button', { name: 'Disable alias/console-e2e' }).click()
    await page
      .getByRole('dialog', { name: 'Disable key' })
      .getByRole('button', { name: 'Disable key' })
      .click()
    await waitForStatus('alias/console-e2e', 'Disabled')
    const disabled = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(disabled.KeyMetadata?.KeyState, 'Disabled')

    // The status filter: an Enabled-only list leaves the disabled key out, Disabled shows it.
    const statusFilter = page.locator('.filters label', { hasText: 'Status' }).locator('select')
    await statusFilter.selectOption('Enabled')
    await row('alias/console-e2e').waitFor({ state: 'detached' })
    await statusFilter.selectOption('Disabled')
    await waitForStatus('alias/console-e2e', 'Disabled')
    await statusFilter.selectOption('')

    // More > Schedule key deletion, opened with the keyboard.
    await page.getByRole('button', { name: 'More actions for alias/console-e2e' }).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('button', { name: 'Schedule key deletion' }).waitFor()
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Schedule key deletion' })
    await dialog.waitFor()
    assert.equal(await dialog.locator('#waiting-days').inputValue(), '30')
    await dialog.locator('#waiting-days').fill('6')
    assert.equal(
      await dialog.locator('#waiting-days-error').textContent(),
      'The waiting period must be a whole number of days from 7 to 30.',
    )
    assert.ok(await dialog.getByRole('button', { name: 'Schedule deletion' }).isDisabled())
    await dialog.locator('#waiting-days').fill('7')
    await dialog.getByRole('checkbox').check()
    await shoot('schedule-deletion-dialog')
    await checkAccessibility('the Schedule key deletion dialog')
    await checkKeyboardReach('the Schedule key deletion dialog', '.modal-panel')
    const before = Date.now()
    await dialog.getByRole('button', { name: 'Schedule deletion' }).click()
    await waitForStatus('alias/console-e2e', 'Pending deletion')
    const pending = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(pending.KeyMetadata?.KeyState, 'PendingDeletion')
    const days = ((pending.KeyMetadata?.DeletionDate?.getTime() ?? 0) - before) / 86_400_000
    assert.ok(days > 6.9 && days < 7.1, `deletion in 7 days, not ${days}`)
    assert.match(
      (await statusOf('alias/console-e2e').textContent()) ?? '',
      new RegExp(
        `Pending deletion \\(${pending.KeyMetadata?.DeletionDate?.toISOString().slice(0, 10)}\\)`,
      ),
    )

    // Only Cancel key deletion is offered for a key pending deletion (the walkthrough, §8).
    assert.equal(
      await row('alias/console-e2e')
        .getByRole('button', { name: /^(Enable|Disable) / })
        .count(),
      0,
    )

    await page.getByRole('button', { name: 'More actions for alias/console-e2e' }).click()
    await page.getByRole('button', { name: 'Cancel key deletion' }).click()
    await waitForStatus('alias/console-e2e', 'Disabled')
    const cancelled = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(cancelled.KeyMetadata?.KeyState, 'Disabled')
    assert.equal(cancelled.KeyMetadata?.DeletionDate, undefined)
  })

  it('creates an External key and imports material made with openssl through the wizard', async () => {
    const keyId = await createKey({
      alias: 'console-import',
      advanced: async () => {
        const dialog = page.getByRole('dialog', { name: 'Create key' })
        await dialog.getByRole('button', { name: 'Advanced options' }).click()
        await dialog.getByRole('radio', { name: 'External (import key material)' }).check()
        // The acknowledgement is required before anything is sent.
        await dialog.getByRole('button', { name: 'Create key' }).click()
        assert.equal(
          await dialog.locator('#acknowledged-error').textContent(),
          'Tick the box to confirm that you understand the implications of external key material.',
        )
        await shoot('create-key-dialog')
        await checkAccessibility('the Create key dialog')
        await checkKeyboardReach('the Create key dialog', '.modal-panel')
        await dialog
          .getByRole('checkbox', {
            name: 'I understand the implications of using the external key materials key',
          })
          .check()
      },
    })
    await waitForStatus('alias/console-import', 'Pending import')
    await row('alias/console-import').getByRole('link', { name: keyId }).click()
    await page.getByRole('heading', { name: 'alias/console-import' }).waitFor()

    await page.locator('#wrapping-algorithm').selectOption('RSAES_OAEP_SHA_256')
    await page.locator('#wrapping-key-spec').selectOption('RSA_2048')
    const downloads: Download[] = []
    page.on('download', (d) => downloads.push(d))
    await page
      .getByRole('button', { name: 'Download wrapping public key and import token' })
      .click()
    await page.getByText('Downloaded the wrapping public key').waitFor()
    while (downloads.length < 2) await page.waitForTimeout(50)
    const wrapping = downloads.find((d) => d.suggestedFilename().startsWith('WrappingPublicKey_'))
    assert.ok(wrapping, downloads.map((d) => d.suggestedFilename()).join(', '))
    const publicKey = ws.output()
    await wrapping.saveAs(publicKey)

    const material = ws.run(['rand', '32']).stdout
    assert.equal(material.length, 32)
    const wrapped = ws.produce([
      'pkeyutl',
      '-encrypt',
      '-pubin',
      '-keyform',
      'DER',
      '-inkey',
      publicKey,
      '-in',
      ws.file(material),
      '-pkeyopt',
      'rsa_padding_mode:oaep',
      '-pkeyopt',
      'rsa_oaep_md:sha256',
      '-pkeyopt',
      'rsa_mgf1_md:sha256',
    ])
    await page.locator('#wrapped-material').setInputFiles(ws.file(wrapped))
    await page.getByRole('button', { name: 'Import key material' }).click()
    await page.getByText('Key material imported.').waitFor()
    await page.locator('dd.status', { hasText: 'Enabled' }).waitFor()

    // A refused call: an alias that another key has; the page shows the server's message.
    const refused = await kms
      .send(new CreateAliasCommand({ AliasName: 'alias/console-e2e', TargetKeyId: keyId }))
      .then(
        () => assert.fail('a taken alias name is refused'),
        (e: Error) => `${e.name}: ${e.message}`,
      )
    await page.locator('#new-alias').fill('alias/console-e2e')
    await page.getByRole('button', { name: 'Add alias' }).click()
    await page.getByRole('alert').filter({ hasText: refused }).waitFor()
    assert.equal(await page.getByRole('alert').textContent(), refused)

    // Tags, the key policy editor's validation, and grants, on the same page.
    await page.locator('#tag-key').fill('team')
    await page.locator('#tag-value').fill('payments')
    await page.getByRole('button', { name: 'Add or update tag' }).click()
    await page.getByRole('button', { name: 'Remove tag team' }).waitFor()
    const tags = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))
    assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'payments' }])
    await page.getByRole('button', { name: 'Edit key policy' }).click()
    await page.locator('#policy-editor').fill('{"Version": "2012-10-17"}')
    assert.equal(
      await page.locator('#policy-error').textContent(),
      'The policy must have a Statement.',
    )
    assert.ok(await page.getByRole('button', { name: 'Save key policy' }).isDisabled())
    await page.getByRole('button', { name: 'Cancel', exact: true }).click()
    const grantee = 'arn:aws:iam::111122223333:role/console-app'
    await page.locator('#grantee').fill(grantee)
    await page.getByRole('checkbox', { name: 'Decrypt', exact: true }).check()
    await page.getByRole('button', { name: 'Create grant' }).click()
    await page.getByText('Grant created.').waitFor()
    const [grant] = (await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants ?? []
    assert.equal(grant?.GranteePrincipal, grantee)
    assert.deepEqual(grant?.Operations, ['Decrypt'])
    await page.getByRole('cell', { name: grantee }).waitFor()
    await shoot('key-detail')
    await checkAccessibility('the key detail page')
    await checkKeyboardReach('the key detail page')

    const plaintext = Buffer.from('encrypted under imported material')
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: 'alias/console-import', Plaintext: plaintext }),
    )
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob }))
    assert.equal(
      decrypted.KeyId,
      (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.Arn,
    )
    assert.deepEqual(Buffer.from(decrypted.Plaintext ?? []), plaintext)

    await page.getByRole('button', { name: `Revoke grant ${grant?.GrantId}` }).click()
    await page.getByText('Grant revoked.').waitFor()
    assert.deepEqual((await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants, [])

    // Deleting the material asks first: Cancel changes nothing, the danger button deletes.
    const stateOf = async () =>
      (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState
    const confirmDelete = page.getByRole('dialog', { name: 'Delete key material' })
    await page.getByRole('button', { name: 'Delete key material' }).click()
    await confirmDelete.getByRole('button', { name: 'Cancel' }).click()
    await confirmDelete.waitFor({ state: 'detached' })
    assert.equal(await stateOf(), 'Enabled')
    await page.getByRole('button', { name: 'Delete key material' }).click()
    await confirmDelete.getByRole('button', { name: 'Delete key material' }).click()
    await confirmDelete.waitFor({ state: 'detached' })
    for (let i = 0; i < 50 && (await stateOf()) !== 'PendingImport'; i++) {
      await page.waitForTimeout(100)
    }
    assert.equal(await stateOf(), 'PendingImport')
  })

  it('creates a multi-Region key and replicates it into another Region from its page', async () => {
    await page.getByRole('link', { name: '← Keys' }).click()
    await page.getByRole('heading', { name: 'Keys' }).waitFor()
    const keyId = await createKey({
      alias: 'console-mrk',
      advanced: async () => {
        const dialog = page.getByRole('dialog', { name: 'Create key' })
        await dialog.getByRole('button', { name: 'Advanced options' }).click()
        await dialog
          .getByRole('checkbox', {
            name: 'Multi-Region key (replicas in other Regions share its key material)',
          })
          .check()
      },
    })
    assert.match(keyId, /^mrk-[0-9a-f]{32}$/)
    await row('alias/console-mrk').getByRole('link', { name: keyId }).click()
    await page.getByRole('heading', { name: 'alias/console-mrk' }).waitFor()
    await page.getByRole('heading', { name: 'Multi-Region' }).waitFor()
    await page.getByText('No replicas.').waitFor()
    // Validation as the API's, before sending: not a Region name, then the key's own Region.
    await page.locator('#replica-region').fill('Europe')
    assert.equal(
      await page.locator('#replica-region-error').textContent(),
      'A Region name such as eu-west-1.',
    )
    await page.locator('#replica-region').fill('us-east-1')
    assert.equal(
      await page.locator('#replica-region-error').textContent(),
      'This key already has a related key in that Region.',
    )
    await page.locator('#replica-region').fill(MANY_REGION)
    await page.getByRole('button', { name: 'Replicate key' }).click()
    await page.getByText(`Replica in ${MANY_REGION}`).waitFor()
    await checkAccessibility('the key detail page of a multi-Region key')
    const replica = await kw
      .client({ region: MANY_REGION })
      .send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(replica.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA')
    // UpdatePrimaryRegion from the primary's page: this key becomes the replica.
    await page.getByRole('button', { name: `Make ${MANY_REGION} the primary` }).click()
    await page.getByText('This key is the replica of a multi-Region key.').waitFor()
    const promoted = await kw
      .client({ region: MANY_REGION })
      .send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(promoted.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY')
  })

  it(
    'connects a SoftHSM-backed key store and creates a key in it',
    { skip: SOFTHSM_MISSING },
    async () => {
      await page.getByRole('link', { name: 'Custom key stores' }).click()
      await page.getByRole('heading', { name: 'Custom key stores' }).waitFor()
      await page.getByRole('button', { name: 'Create key store' }).click()
      const dialog = page.getByRole('dialog', { name: 'Create custom key store' })
      await dialog.locator('#store-name').fill('console-hsm')
      await dialog.locator('#store-clusterId').fill(CLUSTER.a)
      await dialog.locator('#store-trustAnchor').fill(TRUST_ANCHOR)
      await dialog.locator('#store-password').fill(PIN_A)
      await dialog.getByRole('button', { name: 'Create key store' }).click()
      await dialog.waitFor({ state: 'detached' })
      await waitForStatus('console-hsm', 'DISCONNECTED')
      const storeId = await row('console-hsm').getAttribute('data-store-id')
      assert.ok(storeId)
      await page.getByRole('button', { name: 'Connect console-hsm' }).click()
      for (let i = 0; i < 100; i++) {
        if (((await statusOf('console-hsm').textContent()) ?? '').startsWith('CONNECTED')) break
        await page.waitForTimeout(100)
        await page.getByRole('button', { name: 'Refresh' }).click()
      }
      await waitForStatus('console-hsm', 'CONNECTED')
      await shoot('key-stores')
      await checkAccessibility('the Custom key stores page')
      await checkKeyboardReach('the Custom key stores page')

      await page.getByRole('link', { name: 'Keys', exact: true }).click()
      await page.getByRole('heading', { name: 'Keys' }).waitFor()
      const keyId = await createKey({
        alias: 'console-hsm-key',
        advanced: async () => {
          const d = page.getByRole('dialog', { name: 'Create key' })
          await d.getByRole('button', { name: 'Advanced options' }).click()
          await d.getByRole('radio', { name: /^HSM key store/ }).check()
          await d.locator('#custom-key-store').selectOption(storeId)
        },
      })
      const m = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata
      assert.equal(m?.Origin, 'AWS_CLOUDHSM')
      assert.equal(m?.CustomKeyStoreId, storeId)
      assert.match((await row('alias/console-hsm-key').textContent()) ?? '', /HSM key store/)
    },
  )

  it(`loads the Keys page with ${MANY_KEYS} keys one server-side page at a time`, async (t) => {
    await manyKeys
    await page.locator('header select').selectOption(MANY_REGION)
    await page.locator('table[aria-busy="false"]').waitFor()
    // Fresh loads of the page (session storage keeps the session), each timed by the browser
    // from navigation start until the first page of described keys is on screen. The best of
    // three is checked: the machine is shared, and a load is not slower than its best run.
    const times: number[] = []
    for (let i = 0; i < 3; i++) {
      await page.reload()
      await page.locator('tbody tr[data-key-id]').nth(24).waitFor()
      times.push(Math.round((await page.evaluate(`performance.now()`)) as number))
    }
    const ms = Math.min(...times)
    const report = `Keys page with ${MANY_KEYS} keys: first 25 rows in ${ms} ms (loads: ${times.join(', ')} ms)`
    t.diagnostic(report)
    console.log(`# ${report}`)
    assert.equal(await page.locator('tbody tr[data-key-id]').count(), 25)
    // Reported against the target, never asserted: a shared 2-core machine's load decides the
    // wall time more than the page does, and speed targets are not checked by timed tests.
    if (ms >= KEYS_PAGE_BUDGET_MS) console.log(`# above the ${KEYS_PAGE_BUDGET_MS} ms target`)

    const first = await page.locator('tbody tr[data-key-id]').first().getAttribute('data-key-id')
    await page.getByRole('button', { name: 'Next page' }).click()
    await page.getByText('Page 2').waitFor()
    await page.locator(`tbody tr[data-key-id]:not([data-key-id="${first}"])`).nth(24).waitFor()
    assert.equal(await page.locator(`tbody tr[data-key-id="${first}"]`).count(), 0)
    await page.getByRole('button', { name: 'Previous page' }).click()
    await page.locator(`tbody tr[data-key-id="${first}"]`).waitFor()
  })

  it('signs in at once in development mode', async () => {
    const p = await context.newPage()
    watch(p)
    await p.goto(`${dev.endpoint}/console/`)
    await p.getByRole('heading', { name: 'Keys' }).waitFor()
    await p.getByText('development mode').waitFor()
    await p.locator('table[aria-busy="false"]').waitFor()
    assert.equal(await p.getByRole('alert').count(), 0)
    await p.close()
  })

  it('made no request to another origin, broke no CSP rule and threw no error', () => {
    assert.deepEqual(otherOrigins, [])
    assert.deepEqual(cspViolations, [])
    assert.deepEqual(pageErrors, [])
  })
})
