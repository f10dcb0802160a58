import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import { startKeyward, type TestServer } from '../support/keyward-server.js'
import { createTestPki, type TestPki } from '../support/test-pki.js'
import { startXksInterposer, type XksInterposer } from '../support/xks-interposer.js'
import { startXksProxy, type RunningXksProxy } from '../support/xks-proxy.js'

/**
 * External key stores end to end: Keyward (through @aws-sdk/client-kms) ↔ Keyward's own XKS
 * proxy over TLS with a CA made by the test, with an interposer in between to make the proxy
 * slow, garbled or lying on demand (issue 6; XKS spec; ../shared/reference/xks.md §2).
 */

const pki: TestPki = createTestPki()
let xks: RunningXksProxy
let kw: TestServer
let kms: KMSClient
const CONTEXT = { purpose: 'xks-test', tenant: 'a' }
const UNAVAILABLE_STATE = 'KMSInvalidStateException'
/**
 * The proxy deadline of these tests, and a delay past it. AWS's 250 ms (the default, checked in
 * test/adapters/xks) is too tight for a test machine busy with other work: an honest answer
 * would time out now and then.
 */
const TIMEOUT_MS = 1000
const SLOW_MS = 1300

const interposers: XksInterposer[] = []

/**
 * A fresh interposer in front of the proxy: each test's stores get an address of their own
 * (endpoint + path is unique per account and Region, and stores holding keys stay).
 */
async function route(): Promise<XksInterposer> {
  const mitm = await startXksInterposer({
    upstream: xks.endpoint,
    upstreamCa: pki.ca.certPem,
    certificate: pki.server,
  })
  interposers.push(mitm)
  return mitm
}

before(async () => {
  xks = await startXksProxy({ pki })
  kw = await startKeyward({
    xksClient: { caCertificates: pki.ca.certPem, timeoutMs: TIMEOUT_MS },
    metrics: { token: 'metrics-token' },
  })
  kms = kw.client()
})
after(async () => {
  await kw?.close()
  for (const mitm of interposers) await mitm.close()
  await xks?.stop()
  pki.remove()
})

let names = 0
/** CreateCustomKeyStore for the proxy behind `mitm` (unless told otherwise). */
const createStore = (mitm: XksInterposer, overrides: Record<string, unknown> = {}) =>
  kms.send(
    new CreateCustomKeyStoreCommand({
      CustomKeyStoreName: `xks-${++names}`,
      CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
      XksProxyConnectivity: 'PUBLIC_ENDPOINT',
      XksProxyUriEndpoint: mitm.endpoint,
      XksProxyUriPath: xks.uriPath,
      XksProxyAuthenticationCredential: xks.credential,
      ...overrides,
    }),
  )

async function describeStore(id: string): Promise<CustomKeyStoresListEntry> {
  const out = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))
  return out.CustomKeyStores![0]!
}

/** ConnectCustomKeyStore, then waits for the background connection to end. */
async function connect(id: string): Promise<CustomKeyStoresListEntry> {
  await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
  await kw.keyward.customKeyStores.settled()
  return describeStore(id)
}

const disconnect = (id: string) =>
  kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))

/** A connected store over the proxy and a key in it over a fresh external key. */
async function connectedKey(mitm: XksInterposer, externalKeyId: string) {
  const { CustomKeyStoreId: storeId } = await createStore(mitm)
  assert.equal((await connect(storeId!)).ConnectionState, 'CONNECTED')
  return { storeId: storeId!, ...(await connectedKeyIn(storeId!, externalKeyId)) }
}

/** A key over a fresh external key in an existing connected store. */
async function connectedKeyIn(storeId: string, externalKeyId: string) {
  await xks.createKey(externalKeyId)
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({
      Origin: 'EXTERNAL_KEY_STORE',
      CustomKeyStoreId: storeId,
      XksKeyId: externalKeyId,
    }),
  )
  return { keyId: KeyMetadata!.KeyId!, metadata: KeyMetadata! }
}

const encrypt = (keyId: string, text = 'hello external key store') =>
  kms.send(
    new EncryptCommand({
      KeyId: keyId,
      Plaintext: Buffer.from(text),
      EncryptionContext: CONTEXT,
    }),
  )

describe('external key stores through Keyward and its XKS proxy', () => {
  it('creates a store (checking the proxy), describes it without the secret, connects it', async () => {
    const mitm = await route()
    const { CustomKeyStoreId: id } = await createStore(mitm)
    assert.match(id!, /^cks-[0-9a-f]{17}$/)
    assert.deepEqual(
      mitm.seen.map((r) => [
        r.path,
        (r.body.requestMetadata as Record<string, string>).kmsOperation,
      ]),
      [[`${xks.uriPath}/health`, 'CreateCustomKeyStore']],
    )
    const created = await describeStore(id!)
    assert.equal(created.ConnectionState, 'DISCONNECTED')
    assert.equal(created.CustomKeyStoreType, 'EXTERNAL_KEY_STORE')
    assert.deepEqual(created.XksProxyConfiguration, {
      Connectivity: 'PUBLIC_ENDPOINT',
      AccessKeyId: xks.credential.AccessKeyId,
      UriEndpoint: mitm.endpoint,
      UriPath: xks.uriPath,
    })
    assert.equal(created.CloudHsmClusterId, undefined)
    assert.ok(!JSON.stringify(created).includes(xks.credential.RawSecretAccessKey))
    assert.ok(!kw.logger.lines.join('\n').includes(xks.credential.RawSecretAccessKey))
    const connected = await connect(id!)
    assert.equal(connected.ConnectionState, 'CONNECTED')
    assert.equal(connected.ConnectionErrorCode, undefined)
    await disconnect(id!)
    // Issue 10: a second disconnect is refused, as AWS documents, and changes nothing.
    await expectKmsError(
      disconnect(id!),
      'CustomKeyStoreInvalidStateException',
      `Custom key store ${id} has ConnectionState DISCONNECTED. It is already disconnected or disconnecting.`,
    )
    assert.equal((await describeStore(id!)).ConnectionState, 'DISCONNECTED')
    await kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }))
  })

  it('encrypts twice: the key material of Keyward, then the external key in the proxy', async () => {
    const mitm = await route()
    const { keyId, metadata, storeId } = await connectedKey(mitm, 'round-trip')
    assert.equal(metadata.Origin, 'EXTERNAL_KEY_STORE')
    assert.equal(metadata.CustomKeyStoreId, storeId)
    assert.deepEqual(metadata.XksKeyConfiguration, { Id: 'round-trip' })
    assert.equal(metadata.CloudHsmClusterId, undefined)
    assert.equal(metadata.CurrentKeyMaterialId, undefined)
    mitm.seen.length = 0
    const sealed = await encrypt(keyId, 'x'.repeat(4096))
    const [call] = mitm.seen
    assert.equal(call!.path, `${xks.uriPath}/keys/round-trip/encrypt`)
    const meta = call!.body.requestMetadata as Record<string, string>
    assert.equal(meta.kmsOperation, 'Encrypt')
    assert.equal(meta.kmsKeyArn, metadata.Arn)
    assert.equal(meta.awsPrincipalArn, 'arn:aws:iam::111122223333:user/admin')
    assert.ok(meta.kmsRequestId)
    // What the proxy saw is Keyward's inner ciphertext, never the caller's plaintext.
    assert.ok(!Buffer.from(call!.body.plaintext as string, 'base64').includes('x'.repeat(64)))
    const opened = await kms.send(
      new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
    )
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'x'.repeat(4096))
    assert.equal(opened.KeyId, metadata.Arn)
    // Data keys, and ReEncrypt in both directions with a software key.
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: CONTEXT }),
    )
    const again = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: CONTEXT }),
    )
    assert.deepEqual(Buffer.from(again.Plaintext!), Buffer.from(dataKey.Plaintext!))
    const withoutPlaintext = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 16 }),
    )
    const software = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    const moved = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: withoutPlaintext.CiphertextBlob,
        DestinationKeyId: software,
      }),
    )
    const back = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: moved.CiphertextBlob, DestinationKeyId: keyId }),
    )
    const original = await kms.send(
      new DecryptCommand({ CiphertextBlob: withoutPlaintext.CiphertextBlob }),
    )
    const returned = await kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob }))
    assert.deepEqual(Buffer.from(returned.Plaintext!), Buffer.from(original.Plaintext!))
    assert.equal(original.Plaintext!.length, 16)
  })

  it('refuses another encryption context, and a ciphertext once its external key is gone', async () => {
    const mitm = await route()
    const { keyId } = await connectedKey(mitm, 'removable')
    const sealed = await encrypt(keyId)
    await expectKmsError(
      kms.send(
        new DecryptCommand({
          CiphertextBlob: sealed.CiphertextBlob,
          EncryptionContext: { ...CONTEXT, tenant: 'b' },
        }),
      ),
      UNAVAILABLE_STATE,
      /rejected the request because the specified ciphertext or encryption context is corrupted/,
    )
    // The same external key ID made anew is another key: the old ciphertext stays sealed.
    await xks.deleteKey('removable')
    await expectKmsError(
      kms.send(
        new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
      ),
      UNAVAILABLE_STATE,
      /The external key was not found in its external key manager\./,
    )
    await xks.createKey('removable')
    await expectKmsError(
      kms.send(
        new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
      ),
      UNAVAILABLE_STATE,
      /ciphertext or encryption context is corrupted/,
    )
  })

  it('refuses external keys that are missing, misconfigured or taken, and stores not connected', async () => {
    const mitm = await route()
    const { storeId } = await connectedKey(mitm, 'taken')
    const create = (xksKeyId: string | undefined, store = storeId) =>
      kms.send(
        new CreateKeyCommand({
          Origin: 'EXTERNAL_KEY_STORE',
          CustomKeyStoreId: store,
          ...(xksKeyId !== undefined ? { XksKeyId: xksKeyId } : {}),
        }),
      )
    await expectKmsError(
      create('taken'),
      'XksKeyAlreadyInUseException',
      'The request was rejected because the (XksKeyId) is already associated with another KMS key in this external key store. Each KMS key in your external key store must be associated with a different external key.',
    )
    await expectKmsError(
      create('nowhere'),
      'XksKeyNotFoundException',
      /could not find the external key/,
    )
    await xks.createKey('encrypt-only', { usage: ['ENCRYPT'] })
    await expectKmsError(
      create('encrypt-only'),
      'XksKeyInvalidConfigurationException',
      'The request was rejected because the external key specified by the XksKeyId parameter did not meet the configuration requirements for an external key store. The external key must be an AES-256 symmetric key that is enabled and performs encryption and decryption.',
    )
    await xks.createKey('disabled')
    await xks.disableKey('disabled')
    await expectKmsError(
      create('disabled'),
      'XksKeyInvalidConfigurationException',
      /must be an AES-256 symmetric key that is enabled/,
    )
    await expectKmsError(
      create(undefined),
      'ValidationException',
      'XksKeyId is required when Origin is EXTERNAL_KEY_STORE.',
    )
    await expectKmsError(
      kms.send(
        new CreateKeyCommand({
          Origin: 'EXTERNAL_KEY_STORE',
          CustomKeyStoreId: storeId,
          XksKeyId: 'x',
          KeySpec: 'HMAC_256',
          KeyUsage: 'GENERATE_VERIFY_MAC',
        }),
      ),
      'UnsupportedOperationException',
      /only SYMMETRIC_DEFAULT keys for ENCRYPT_DECRYPT/,
    )
    await expectKmsError(
      kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId })),
      'UnsupportedOperationException',
      /is of type EXTERNAL_KEY_STORE; keys with Origin AWS_CLOUDHSM need a custom key store of type AWS_CLOUDHSM/,
    )
    const { keyId: inStore, metadata } = await connectedKeyIn(storeId, 'pair-refused')
    for (const Command of [
      GenerateDataKeyPairCommand,
      GenerateDataKeyPairWithoutPlaintextCommand,
    ]) {
      await expectKmsError(
        kms.send(new Command({ KeyId: inStore, KeyPairSpec: 'ECC_NIST_P256' })),
        'UnsupportedOperationException',
        `${metadata.Arn} origin is EXTERNAL_KEY_STORE which is not valid for this operation.`,
      )
    }
    await expectKmsError(
      kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: storeId })),
      'UnsupportedOperationException',
      /GenerateRandom with CustomKeyStoreId is supported only for AWS CloudHSM key stores/,
    )
    await disconnect(storeId)
    await xks.createKey('later')
    await expectKmsError(
      create('later'),
      'CustomKeyStoreInvalidStateException',
      /has ConnectionState DISCONNECTED/,
    )
  })

  it('makes keys Unavailable while their store is disconnected, usable again once connected', async () => {
    const mitm = await route()
    const { keyId, storeId, metadata } = await connectedKey(mitm, 'toggled')
    const sealed = await encrypt(keyId)
    await disconnect(storeId)
    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }))
    assert.equal(described.KeyMetadata!.KeyState, 'Unavailable')
    await expectKmsError(encrypt(keyId), UNAVAILABLE_STATE, `${metadata.Arn} is unavailable.`)
    await expectKmsError(
      kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
      'CustomKeyStoreHasCMKsException',
      /contains AWS KMS keys/,
    )
    assert.equal((await connect(storeId)).ConnectionState, 'CONNECTED')
    const opened = await kms.send(
      new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
    )
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'hello external key store')
  })

  it("logs the proxy's own errorMessage with the request ID during Encrypt and Decrypt, never answering it (issue 10)", async () => {
    const mitm = await route()
    const { keyId } = await connectedKey(mitm, 'chatty')
    const sealed = await encrypt(keyId)
    const said = (op: string) => `the external key manager is on fire during ${op}`
    const logged = (requestId: string | undefined) =>
      kw.logger.lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.requestId === requestId)
    for (const [op, call] of [
      ['Encrypt', () => encrypt(keyId)],
      [
        'Decrypt',
        () =>
          kms.send(
            new DecryptCommand({
              CiphertextBlob: sealed.CiphertextBlob,
              EncryptionContext: CONTEXT,
            }),
          ),
      ],
    ] as const) {
      mitm.behaviour = { errorName: 'InternalException', status: 500, errorMessage: said(op) }
      const error = await expectKmsError(
        call(),
        UNAVAILABLE_STATE,
        /cannot communicate with the external key manager/,
      )
      assert.ok(!error.message.includes(said(op)), 'the errorMessage is not answered')
      const lines = logged((error as { $metadata?: { requestId?: string } }).$metadata?.requestId)
      assert.equal(lines.length, 1, JSON.stringify(kw.logger.lines.slice(-3)))
      assert.equal(lines[0]!.message, 'external key store proxy call failed')
      assert.equal(lines[0]!.kmsOperation, op)
      assert.equal(lines[0]!.keyArn, sealed.KeyId)
      assert.match(String(lines[0]!.reason), new RegExp(`InternalException: ${said(op)}$`))
    }
    mitm.behaviour = 'pass'
  })

  it('answers proxy failures during Encrypt with KMSInvalidStateException, and stays connected', async () => {
    const mitm = await route()
    const { keyId, storeId } = await connectedKey(mitm, 'flaky')
    const cases: Array<[XksInterposer['behaviour'], RegExp]> = [
      [{ delayMs: SLOW_MS }, /did not respond to the request in the time allotted/],
      ['garbage', /cannot interpret the response from the external key store proxy/],
      [{ errorName: 'ThrottlingException', status: 429 }, /very high request rate/],
      [{ errorName: 'AccessDeniedException', status: 403 }, /denied access to the operation/],
      [
        { errorName: 'InternalException', status: 500 },
        /cannot communicate with the external key manager/,
      ],
      [
        {
          rewrite: (a) => ({
            ...a,
            ciphertextDataIntegrityValue: Buffer.alloc(32).toString('base64'),
          }),
        },
        /cannot interpret the response/,
      ],
    ]
    for (const [behaviour, message] of cases) {
      mitm.behaviour = behaviour
      await expectKmsError(encrypt(keyId), UNAVAILABLE_STATE, message)
    }
    // A proxy that decrypts to something else than it was given: AWS blames the proxy.
    mitm.behaviour = 'pass'
    const sealed = await encrypt(keyId)
    mitm.behaviour = {
      rewrite: (a) => {
        const inner = Buffer.from(a.plaintext as string, 'base64')
        inner[inner.length - 1]! ^= 1
        return { plaintext: inner.toString('base64') }
      },
    }
    await expectKmsError(
      kms.send(
        new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: CONTEXT }),
      ),
      UNAVAILABLE_STATE,
      /The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted/,
    )
    // One bad health poll does not fail the store; the poll is counted in the metrics.
    mitm.behaviour = { delayMs: SLOW_MS }
    await kw.keyward.customKeyStores.pollXksHealth()
    assert.equal((await describeStore(storeId)).ConnectionState, 'CONNECTED')
    const health = kw.keyward.customKeyStores
      .xksHealthMetrics()
      .find((m) => m.customKeyStoreId === storeId)
    assert.equal(health?.lastStatus, 'XKS_PROXY_TIMED_OUT')
    assert.equal(health?.consecutiveFailures, 1)
    mitm.behaviour = 'pass'
    await kw.keyward.customKeyStores.pollXksHealth()
    const healed = kw.keyward.customKeyStores
      .xksHealthMetrics()
      .find((m) => m.customKeyStoreId === storeId)
    assert.equal(healed?.lastStatus, 'ACTIVE')
    assert.equal(healed?.consecutiveFailures, 0)
    const metrics = await (
      await fetch(`${kw.endpoint}/metrics`, { headers: { authorization: 'Bearer metrics-token' } })
    ).text()
    const labels = `custom_key_store_id="${storeId}",region="us-east-1"`
    assert.ok(metrics.includes(`keyward_xks_health_checks_total{${labels}} 2\n`), metrics)
    assert.ok(metrics.includes(`keyward_xks_health_check_failures_total{${labels}} 1\n`))
    assert.ok(metrics.includes(`keyward_xks_health_status{${labels},status="ACTIVE"} 1\n`))
    assert.ok(
      metrics.includes(
        `keyward_custom_key_store_connection_state{region="us-east-1",custom_key_store_id="${storeId}",type="EXTERNAL_KEY_STORE",state="CONNECTED"} 1\n`,
      ),
    )
    // Every call to the proxy is timed, by XKS route; the timed-out poll is an error.
    assert.match(
      metrics,
      /keyward_xks_proxy_request_duration_seconds_count\{route="\/health"\} [1-9]/,
    )
    assert.match(
      metrics,
      /keyward_xks_proxy_errors_total\{route="\/health",failure="timeout"\} 1\n/,
    )
    assert.equal(Buffer.from((await encrypt(keyId)).CiphertextBlob!).length > 4200 - 4096, true)
  })

  it('ends a failed connection in FAILED with the ConnectionErrorCode of the failure', async () => {
    const mitm = await route()
    const { CustomKeyStoreId: id } = await createStore(mitm)
    const cases: Array<[XksInterposer['behaviour'], string]> = [
      [{ errorName: 'AuthenticationFailedException', status: 401 }, 'INVALID_CREDENTIALS'],
      [{ errorName: 'AccessDeniedException', status: 403 }, 'XKS_PROXY_ACCESS_DENIED'],
      [{ errorName: 'InvalidUriPathException', status: 404 }, 'XKS_PROXY_INVALID_CONFIGURATION'],
      [{ delayMs: SLOW_MS }, 'XKS_PROXY_TIMED_OUT'],
      ['garbage', 'XKS_PROXY_INVALID_RESPONSE'],
      [{ errorName: 'ThrottlingException', status: 429 }, 'XKS_PROXY_NOT_REACHABLE'],
      [
        {
          rewrite: (a) => ({
            ...a,
            ekmFleetDetails: [{ id: 'e', model: 'm', healthStatus: 'UNAVAILABLE' }],
          }),
        },
        'XKS_PROXY_NOT_REACHABLE',
      ],
    ]
    for (const [behaviour, code] of cases) {
      mitm.behaviour = behaviour
      const failed = await connect(id!)
      assert.equal(failed.ConnectionState, 'FAILED', code)
      assert.equal(failed.ConnectionErrorCode, code)
      await expectKmsError(
        kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id })),
        'CustomKeyStoreInvalidStateException',
        /has ConnectionState FAILED/,
      )
      await disconnect(id!)
    }
    mitm.behaviour = 'pass'
    assert.equal((await connect(id!)).ConnectionState, 'CONNECTED')
    await disconnect(id!)
  })

  it('ends FAILED when the real proxy refuses the credential or does not know the path', async () => {
    // VPC_ENDPOINT_SERVICE connectivity: no health check at creation (as AWS), so the settings
    // are first tried by ConnectCustomKeyStore.
    const vpc = (n: number) => ({
      XksProxyConnectivity: 'VPC_ENDPOINT_SERVICE',
      XksProxyUriEndpoint: xks.endpoint,
      XksProxyVpcEndpointServiceName: `com.amazonaws.vpce.us-east-1.vpce-svc-00000000000000${n}`,
    })
    const mitm = await route()
    const { CustomKeyStoreId: badSecret } = await createStore(mitm, {
      ...vpc(1),
      XksProxyAuthenticationCredential: {
        ...xks.credential,
        RawSecretAccessKey: 'B'.repeat(43) + '=',
      },
    })
    const { CustomKeyStoreId: badPath } = await createStore(mitm, {
      ...vpc(2),
      XksProxyUriEndpoint: mitm.endpoint,
      XksProxyUriPath: '/nowhere/kms/xks/v1',
    })
    const failedSecret = await connect(badSecret!)
    assert.equal(failedSecret.ConnectionState, 'FAILED')
    assert.equal(failedSecret.ConnectionErrorCode, 'INVALID_CREDENTIALS')
    assert.equal((await connect(badPath!)).ConnectionErrorCode, 'XKS_PROXY_INVALID_CONFIGURATION')
    // At most 10 stores per account and Region: these two go again.
    for (const id of [badSecret!, badPath!]) {
      await disconnect(id)
      await kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }))
    }
  })

  it('tells a stopped proxy and an untrusted certificate apart when connecting', async () => {
    const other = createTestPki()
    const impostor = await startXksInterposer({
      upstream: xks.endpoint,
      upstreamCa: pki.ca.certPem,
      certificate: other.server,
    })
    const stopped = await startXksInterposer({
      upstream: xks.endpoint,
      upstreamCa: pki.ca.certPem,
      certificate: pki.server,
    })
    try {
      const { CustomKeyStoreId: tls } = await createStore(impostor, {
        XksProxyConnectivity: 'VPC_ENDPOINT_SERVICE',
        XksProxyVpcEndpointServiceName: 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0',
      })
      assert.equal((await connect(tls!)).ConnectionErrorCode, 'XKS_PROXY_INVALID_TLS_CONFIGURATION')
      const { CustomKeyStoreId: gone } = await createStore(stopped)
      await stopped.close()
      assert.equal((await connect(gone!)).ConnectionErrorCode, 'XKS_PROXY_NOT_REACHABLE')
    } finally {
      await impostor.close()
      other.remove()
    }
  })

  it('refuses settings the proxy does not accept, and addresses already in use', async () => {
    const mitm = await route()
    const wrongSecret = { ...xks.credential, RawSecretAccessKey: 'A'.repeat(43) + '=' }
    await expectKmsError(
      createStore(mitm, { XksProxyAuthenticationCredential: wrongSecret }),
      'XksProxyIncorrectAuthenticationCredentialException',
      /could not authenticate AWS KMS/,
    )
    await expectKmsError(
      createStore(mitm, { XksProxyUriPath: '/elsewhere/kms/xks/v1' }),
      'XksProxyInvalidConfigurationException',
      /invalid URI path/,
    )
    mitm.behaviour = { delayMs: SLOW_MS }
    await expectKmsError(
      createStore(mitm),
      'XksProxyUriUnreachableException',
      /did not respond to the request in the time allotted/,
    )
    mitm.behaviour = 'garbage'
    await expectKmsError(
      createStore(mitm),
      'XksProxyInvalidResponseException',
      /cannot interpret the response/,
    )
    mitm.behaviour = 'pass'
    await expectKmsError(
      createStore(mitm, { XksProxyUriEndpoint: 'https://localhost:1' }),
      'XksProxyUriUnreachableException',
      /cannot communicate with the external key store proxy/,
    )
    const { CustomKeyStoreId: id } = await createStore(mitm)
    await expectKmsError(
      createStore(mitm),
      'XksProxyUriInUseException',
      /concatenation of the XksProxyUriEndpoint and XksProxyUriPath is already associated/,
    )
    await expectKmsError(
      createStore(mitm, { XksProxyConnectivity: 'VPC_ENDPOINT_SERVICE' }),
      'ValidationException',
      'XksProxyVpcEndpointServiceName is required when XksProxyConnectivity is VPC_ENDPOINT_SERVICE.',
    )
    await expectKmsError(
      createStore(mitm, { KeyStorePassword: 'password-1' }),
      'ValidationException',
      'KeyStorePassword is valid only for custom key stores with a CustomKeyStoreType of AWS_CLOUDHSM.',
    )
    await expectKmsError(
      createStore(mitm, { XksProxyUriEndpoint: 'http://localhost:8443' }),
      'ValidationException',
      /Member must satisfy regular expression pattern: \^https:\/\/\[a-zA-Z0-9\.-\]\+\$/,
    )
    // Updates: a wrong secret is refused while connected; the endpoint needs DISCONNECTED.
    assert.equal((await connect(id!)).ConnectionState, 'CONNECTED')
    await expectKmsError(
      kms.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: id,
          XksProxyAuthenticationCredential: wrongSecret,
        }),
      ),
      'XksProxyIncorrectAuthenticationCredentialException',
      /could not authenticate AWS KMS/,
    )
    await expectKmsError(
      kms.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: id,
          XksProxyUriEndpoint: 'https://localhost:2',
        }),
      ),
      'CustomKeyStoreInvalidStateException',
      /before changing its endpoint, connectivity or VPC endpoint service/,
    )
    await kms.send(
      new UpdateCustomKeyStoreCommand({
        CustomKeyStoreId: id,
        NewCustomKeyStoreName: 'renamed-xks',
        XksProxyAuthenticationCredential: xks.credential,
      }),
    )
    const renamed = await describeStore(id!)
    assert.equal(renamed.CustomKeyStoreName, 'renamed-xks')
    assert.equal(renamed.ConnectionState, 'CONNECTED')
    await expectKmsError(
      kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id })),
      'CustomKeyStoreInvalidStateException',
      /before deleting it/,
    )
    await disconnect(id!)
    await kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }))
  })
})

describe('external key stores across a restart', () => {
  it('reconnects a connected store by itself, and its keys still decrypt', async () => {
    const restartPki = pki
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-xks-restart-'))
    after(() => rmSync(dataDir, { recursive: true, force: true }))
    const first = await startKeyward({
      dataDir,
      xksClient: { caCertificates: restartPki.ca.certPem },
    })
    const client = first.client()
    const { CustomKeyStoreId: id } = await client.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'restart',
        CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
        XksProxyConnectivity: 'PUBLIC_ENDPOINT',
        XksProxyUriEndpoint: xks.endpoint,
        XksProxyUriPath: xks.uriPath,
        XksProxyAuthenticationCredential: xks.credential,
      }),
    )
    await client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
    await first.keyward.customKeyStores.settled()
    await xks.createKey('restart')
    const { KeyMetadata } = await client.send(
      new CreateKeyCommand({
        Origin: 'EXTERNAL_KEY_STORE',
        CustomKeyStoreId: id,
        XksKeyId: 'restart',
      }),
    )
    const sealed = await client.send(
      new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('kept') }),
    )
    await first.close()
    const second = await startKeyward({
      dataDir: first.dataDir,
      xksClient: { caCertificates: restartPki.ca.certPem },
    })
    try {
      await second.keyward.customKeyStores.settled()
      const again = second.client()
      const state = await again.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))
      assert.equal(state.CustomKeyStores![0]!.ConnectionState, 'CONNECTED')
      const opened = await again.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }))
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'kept')
    } finally {
      await second.close()
    }
  })
})
