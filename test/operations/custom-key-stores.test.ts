import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DisconnectCustomKeyStoreCommand,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { expectKmsError } from '../support/assertions.js'
import {
  CLUSTER,
  PIN_A,
  PIN_B,
  startTestHsm,
  TRUST_ANCHOR,
  type TestHsm,
} from '../support/hsm-clusters.js'
import { OTHER, startKeyward, type TestServer } from '../support/keyward-server.js'
import { SOFTHSM_MISSING } from '../support/softhsm.js'

const NOT_FOUND =
  'The request was rejected because AWS KMS cannot find a custom key store with the specified key store name or ID.'
const NAME_IN_USE =
  'The request was rejected because the specified custom key store name is already assigned to another custom key store in the account. Try again with a custom key store name that is unique in the account.'
const CLUSTER_IN_USE =
  'The request was rejected because the specified AWS CloudHSM cluster is already associated with an AWS CloudHSM key store in the account, or it shares a backup history with an AWS CloudHSM key store in the account. Each AWS CloudHSM key store in the account must be associated with a different AWS CloudHSM cluster.'
const CLUSTER_NOT_FOUND =
  'The request was rejected because AWS KMS cannot find the AWS CloudHSM cluster with the specified cluster ID. Retry the request with a different cluster ID.'

describe('CloudHSM custom key stores over SoftHSM', { skip: SOFTHSM_MISSING }, () => {
  let testHsm: TestHsm
  let kw: TestServer
  let kms: KMSClient
  before(async () => {
    testHsm = startTestHsm()
    kw = await startKeyward({ cloudHsmClusters: testHsm.clusters })
    kms = kw.client()
  })
  after(async () => {
    await kw?.close()
    testHsm?.hsm.cleanup()
  })

  const create = (name: string, clusterId: string, password = PIN_A) =>
    kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: name,
        CloudHsmClusterId: clusterId,
        TrustAnchorCertificate: TRUST_ANCHOR,
        KeyStorePassword: password,
      }),
    )
  const describeStore = async (id: string): Promise<CustomKeyStoresListEntry> => {
    const out = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))
    assert.equal(out.CustomKeyStores?.length, 1)
    return out.CustomKeyStores[0]!
  }
  /** Connects and waits for the asynchronous attempt to end. */
  const connect = async (id: string) => {
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
    await kw.keyward.customKeyStores.settled()
    return describeStore(id)
  }
  const disconnect = (id: string) =>
    kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
  const remove = (id: string) => kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id }))

  it('creates a DISCONNECTED store and describes it without its password', async () => {
    const before = Date.now()
    const { CustomKeyStoreId: id } = await create('store-a', CLUSTER.a)
    assert.match(id!, /^cks-[0-9a-f]{17}$/)
    const entry = await describeStore(id!)
    assert.deepEqual(
      { ...entry, CreationDate: undefined },
      {
        CustomKeyStoreId: id,
        CustomKeyStoreName: 'store-a',
        CustomKeyStoreType: 'AWS_CLOUDHSM',
        CloudHsmClusterId: CLUSTER.a,
        TrustAnchorCertificate: TRUST_ANCHOR,
        ConnectionState: 'DISCONNECTED',
        CreationDate: undefined,
      },
    )
    assert.ok(entry.CreationDate!.getTime() >= before - 1000)
    const byName = await kms.send(
      new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: 'store-a' }),
    )
    assert.equal(byName.CustomKeyStores?.[0]?.CustomKeyStoreId, id)
    // Another account sees nothing of it.
    await expectKmsError(
      kw
        .client({ credentials: OTHER })
        .send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })),
      'CustomKeyStoreNotFoundException',
      NOT_FOUND,
    )
    await remove(id!)
  })

  it('refuses unknown, inactive, used and related clusters, used names and a wrong trust anchor', async () => {
    const { CustomKeyStoreId: id } = await create('store-used', CLUSTER.a)
    await expectKmsError(
      create('other', 'cluster-unknownxxxx'),
      'CloudHsmClusterNotFoundException',
      CLUSTER_NOT_FOUND,
    )
    await expectKmsError(
      create('other', CLUSTER.noModule),
      'CloudHsmClusterNotActiveException',
      'The request was rejected because the AWS CloudHSM cluster associated with the AWS CloudHSM key store is not active. Initialize and activate the cluster and try the command again.',
    )
    await expectKmsError(
      create('other', CLUSTER.a),
      'CloudHsmClusterInUseException',
      CLUSTER_IN_USE,
    )
    // The same token under another cluster id shares the keys: in use too.
    await expectKmsError(
      create('other', CLUSTER.aBySerial),
      'CloudHsmClusterInUseException',
      CLUSTER_IN_USE,
    )
    await expectKmsError(
      create('store-used', CLUSTER.c),
      'CustomKeyStoreNameInUseException',
      NAME_IN_USE,
    )
    await expectKmsError(
      kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'anchored',
          CloudHsmClusterId: CLUSTER.b,
          TrustAnchorCertificate: '-----BEGIN CERTIFICATE-----\nother\n-----END CERTIFICATE-----',
          KeyStorePassword: PIN_B,
        }),
      ),
      'IncorrectTrustAnchorException',
      'The request was rejected because the trust anchor certificate in the request to create an AWS CloudHSM key store is not the trust anchor certificate for the specified AWS CloudHSM cluster.',
    )
    await expectKmsError(
      kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'no-password',
          CloudHsmClusterId: CLUSTER.c,
          TrustAnchorCertificate: TRUST_ANCHOR,
        }),
      ),
      'ValidationException',
      'KeyStorePassword is required for a custom key store of type AWS_CLOUDHSM.',
    )
    await expectKmsError(
      kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'xks',
          CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
        }),
      ),
      'ValidationException',
      'XksProxyUriEndpoint is required for a custom key store of type EXTERNAL_KEY_STORE.',
    )
    await expectKmsError(
      kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'mixed',
          CloudHsmClusterId: CLUSTER.c,
          TrustAnchorCertificate: TRUST_ANCHOR,
          KeyStorePassword: PIN_A,
          XksProxyUriPath: '/kms/xks/v1',
        }),
      ),
      'ValidationException',
      'XksProxyUriPath is valid only for custom key stores with a CustomKeyStoreType of EXTERNAL_KEY_STORE.',
    )
    const all = await kms.send(new DescribeCustomKeyStoresCommand({}))
    assert.deepEqual(
      all.CustomKeyStores?.map((s) => s.CustomKeyStoreName),
      ['store-used'],
      'no refused request created anything',
    )
    await remove(id!)
  })

  it('connects by logging into the token, and enforces the connection-state rules', async () => {
    const { CustomKeyStoreId: id } = await create('store-connect', CLUSTER.a)
    assert.equal((await connect(id!)).ConnectionState, 'CONNECTED')
    // Connecting a connected store changes nothing.
    assert.equal((await connect(id!)).ConnectionState, 'CONNECTED')
    const invalid = new RegExp(`^Custom key store ${id} has ConnectionState CONNECTED\\. `)
    await expectKmsError(remove(id!), 'CustomKeyStoreInvalidStateException', invalid)
    await expectKmsError(
      kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: id, KeyStorePassword: PIN_B })),
      'CustomKeyStoreInvalidStateException',
      invalid,
    )
    // The name can change while connected.
    await kms.send(
      new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: id, NewCustomKeyStoreName: 'renamed' }),
    )
    assert.equal((await describeStore(id!)).CustomKeyStoreName, 'renamed')
    await disconnect(id!)
    assert.equal((await describeStore(id!)).ConnectionState, 'DISCONNECTED')
    // Issue 10: a second disconnect is refused, as AWS documents, and changes nothing.
    await expectKmsError(
      disconnect(id!),
      'CustomKeyStoreInvalidStateException',
      `Custom key store ${id} has ConnectionState DISCONNECTED. It is already disconnected or disconnecting.`,
    )
    assert.equal((await describeStore(id!)).ConnectionState, 'DISCONNECTED')
    await remove(id!)
    await expectKmsError(
      kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id })),
      'CustomKeyStoreNotFoundException',
      NOT_FOUND,
    )
    await expectKmsError(remove(id!), 'CustomKeyStoreNotFoundException', NOT_FOUND)
    await expectKmsError(disconnect(id!), 'CustomKeyStoreNotFoundException', NOT_FOUND)
  })

  it('fails with INVALID_CREDENTIALS for a wrong PIN, and recovers after the password is fixed', async () => {
    const { CustomKeyStoreId: id } = await create('store-wrong-pin', CLUSTER.c, 'not-the-pin')
    const failed = await connect(id!)
    assert.equal(failed.ConnectionState, 'FAILED')
    assert.equal(failed.ConnectionErrorCode, 'INVALID_CREDENTIALS')
    await expectKmsError(
      kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id })),
      'CustomKeyStoreInvalidStateException',
      `Custom key store ${id} has ConnectionState FAILED. Disconnect it (DisconnectCustomKeyStore), correct the cause, then connect it again.`,
    )
    await disconnect(id!)
    const cleared = await describeStore(id!)
    assert.equal(cleared.ConnectionState, 'DISCONNECTED')
    assert.equal(cleared.ConnectionErrorCode, undefined)
    await kms.send(
      new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: id, KeyStorePassword: PIN_B }),
    )
    assert.equal((await connect(id!)).ConnectionState, 'CONNECTED')
    await disconnect(id!)
    await remove(id!)
    const logged = kw.logger.lines.join('\n')
    assert.ok(!logged.includes('not-the-pin') && !logged.includes(PIN_B), 'no PIN in the logs')
  })

  it('fails with CLUSTER_NOT_FOUND when the token or the module is missing', async () => {
    const { CustomKeyStoreId: noToken } = await create('store-no-token', CLUSTER.noToken)
    const failed = await connect(noToken!)
    assert.deepEqual(
      [failed.ConnectionState, failed.ConnectionErrorCode],
      ['FAILED', 'CLUSTER_NOT_FOUND'],
    )
    await disconnect(noToken!)
    await remove(noToken!)

    // The module disappears between CreateCustomKeyStore and ConnectCustomKeyStore: here the
    // configuration of a restarted Keyward points the cluster at a module that is not there.
    const first = await startKeyward({ cloudHsmClusters: testHsm.clusters })
    let second: TestServer | undefined
    try {
      const { CustomKeyStoreId: id } = await first.client().send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'store-no-module',
          CloudHsmClusterId: CLUSTER.c,
          TrustAnchorCertificate: TRUST_ANCHOR,
          KeyStorePassword: PIN_B,
        }),
      )
      await first.keyward.close()
      const moved = new Map(testHsm.clusters)
      moved.set(CLUSTER.c, { ...moved.get(CLUSTER.c)!, modulePath: '/nonexistent/libhsm.so' })
      second = await startKeyward({ cloudHsmClusters: moved, dataDir: first.dataDir })
      const client = second.client()
      await client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
      await second.keyward.customKeyStores.settled()
      const out = await client.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))
      const missing = out.CustomKeyStores![0]!
      assert.deepEqual(
        [missing.ConnectionState, missing.ConnectionErrorCode],
        ['FAILED', 'CLUSTER_NOT_FOUND'],
      )
    } finally {
      await second?.close()
      rmSync(first.dataDir, { recursive: true, force: true })
    }
  })

  it('changes the cluster only to one reaching the same token, while disconnected', async () => {
    const { CustomKeyStoreId: id } = await create('store-move', CLUSTER.a)
    await expectKmsError(
      kms.send(
        new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: id, CloudHsmClusterId: CLUSTER.c }),
      ),
      'CloudHsmClusterNotRelatedException',
      'The request was rejected because the specified AWS CloudHSM cluster has a different cluster certificate than the original cluster. You cannot use the operation to specify an unrelated cluster for an AWS CloudHSM key store.',
    )
    await expectKmsError(
      kms.send(
        new UpdateCustomKeyStoreCommand({
          CustomKeyStoreId: id,
          CloudHsmClusterId: 'cluster-unknownxxxx',
        }),
      ),
      'CloudHsmClusterNotFoundException',
      CLUSTER_NOT_FOUND,
    )
    await kms.send(
      new UpdateCustomKeyStoreCommand({
        CustomKeyStoreId: id,
        CloudHsmClusterId: CLUSTER.aBySerial,
      }),
    )
    const moved = await connect(id!)
    assert.deepEqual(
      [moved.CloudHsmClusterId, moved.ConnectionState],
      [CLUSTER.aBySerial, 'CONNECTED'],
    )
    await disconnect(id!)
    await remove(id!)
  })

  it('pages the listing with Limit and Marker', async () => {
    const ids = [
      (await create('page-1', CLUSTER.a)).CustomKeyStoreId!,
      (await create('page-2', CLUSTER.c)).CustomKeyStoreId!,
    ].sort()
    const first = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 1 }))
    assert.equal(first.Truncated, true)
    assert.deepEqual(
      first.CustomKeyStores?.map((s) => s.CustomKeyStoreId),
      [ids[0]],
    )
    const second = await kms.send(
      new DescribeCustomKeyStoresCommand({ Limit: 1, Marker: first.NextMarker }),
    )
    assert.equal(second.Truncated, false)
    assert.deepEqual(
      second.CustomKeyStores?.map((s) => s.CustomKeyStoreId),
      [ids[1]],
    )
    for (const id of ids) await remove(id)
  })

  it('reconnects a connected store by itself after a Keyward restart', async () => {
    const first = await startKeyward({ cloudHsmClusters: testHsm.clusters })
    const dataDir = first.dataDir
    let second: TestServer | undefined
    try {
      const kms = first.client()
      const { CustomKeyStoreId: id } = await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'survivor',
          CloudHsmClusterId: CLUSTER.b,
          TrustAnchorCertificate: TRUST_ANCHOR,
          KeyStorePassword: PIN_B,
        }),
      )
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }))
      await first.keyward.customKeyStores.settled()
      await first.keyward.close()
      second = await startKeyward({ cloudHsmClusters: testHsm.clusters, dataDir })
      await second.keyward.customKeyStores.settled()
      const out = await second
        .client()
        .send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))
      assert.equal(out.CustomKeyStores?.[0]?.ConnectionState, 'CONNECTED')
    } finally {
      await second?.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
