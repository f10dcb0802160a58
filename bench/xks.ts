import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoad, type LoadResult } from './load.js'
import { startServer, type ServerProcess } from './processes.js'
import { callKms, type BenchPartOptions, type KmsCall } from './signing.js'
import { startBenchXksProxy } from './xks-proxy.js'

/**
 * The external key store part of `npm run bench` (BENCH_XKS=1): Encrypt of 1 KB on a key of
 * an external key store, through Keyward's own XKS proxy (`keyward xks-proxy serve`, local
 * keystore, over TLS with kept-alive connections), beside Encrypt of 1 KB on a software key of
 * the same Keyward, in the same run. Both servers are child processes; this process is the load
 * generator. The XKS path costs one HTTPS round trip to the proxy per request (double
 * encryption), so it is expected to be slower: the figure shows by how much.
 */

const PLAINTEXT = Buffer.alloc(1024, 'keyward-xks-bench-').toString('base64')

/**
 * Runs the comparison and prints it; returns false when a request failed.
 *
 * @example
 *   await benchXks({ env: keywardEnv, keywardBin, credentials, seconds: 10, warmupSeconds: 2, connections: 32 })
 */
export async function benchXks(options: BenchPartOptions): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-xks-'))
  const xks = await startBenchXksProxy({
    keywardBin: options.keywardBin,
    backend: { json: { type: 'local' }, env: {} },
    env: options.env(),
  })
  const { pki, credential } = xks
  const servers: ServerProcess[] = [xks.proxy]
  try {
    const dataDir = join(dir, 'keyward')
    mkdirSync(dataDir)
    writeFileSync(
      join(dataDir, 'principals.json'),
      JSON.stringify({ accounts: [], xksClient: { caCertificatesFile: pki.ca.certPath } }),
      { mode: 0o600 },
    )
    const keyward = await startServer(
      [options.keywardBin, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir],
      { ready: /listening on (http:\/\/\S+)/, env: options.env() },
    )
    servers.push(keyward)
    const call = (op: string, body: object): KmsCall => ({
      endpoint: keyward.url,
      target: `TrentService.${op}`,
      body: JSON.stringify(body),
      credentials: options.credentials,
    })
    const endpoint = xks.endpoint
    const { CustomKeyStoreId } = await callKms(
      call('CreateCustomKeyStore', {
        CustomKeyStoreName: 'bench-xks',
        CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
        XksProxyConnectivity: 'PUBLIC_ENDPOINT',
        XksProxyUriEndpoint: endpoint,
        XksProxyUriPath: xks.uriPath,
        XksProxyAuthenticationCredential: {
          AccessKeyId: credential.accessKeyId,
          RawSecretAccessKey: credential.secretAccessKey,
        },
      }),
    )
    await callKms(call('ConnectCustomKeyStore', { CustomKeyStoreId }))
    for (let i = 0; ; i++) {
      const out = await callKms(call('DescribeCustomKeyStores', { CustomKeyStoreId }))
      const store = (
        out.CustomKeyStores as Array<{ ConnectionState: string; ConnectionErrorCode?: string }>
      )[0]!
      if (store.ConnectionState === 'CONNECTED') break
      if (store.ConnectionState !== 'CONNECTING' || i > 100) {
        throw new Error(`store ${store.ConnectionState} ${store.ConnectionErrorCode ?? ''}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const created = await callKms(
      call('CreateKey', { Origin: 'EXTERNAL_KEY_STORE', CustomKeyStoreId, XksKeyId: 'bench' }),
    )
    const xksKey = (created.KeyMetadata as { KeyId: string }).KeyId
    const softwareKey = ((await callKms(call('CreateKey', {}))).KeyMetadata as { KeyId: string })
      .KeyId
    const results: Array<[string, LoadResult]> = []
    for (const [label, keyId] of [
      ['software key', softwareKey],
      ['external key store key', xksKey],
    ] as const) {
      const encrypt = call('Encrypt', { KeyId: keyId, Plaintext: PLAINTEXT })
      if (typeof (await callKms(encrypt)).CiphertextBlob !== 'string') {
        throw new Error(`Encrypt under the ${label} gave no ciphertext`)
      }
      const load = { connections: options.connections }
      if (options.warmupSeconds > 0)
        await runLoad(encrypt, { ...load, seconds: options.warmupSeconds })
      results.push([label, await runLoad(encrypt, { ...load, seconds: options.seconds })])
    }
    console.log(`\nEncrypt of 1 KB at ${options.connections} connections, one Keyward process:`)
    for (const [label, r] of results) {
      console.log(
        `  ${label.padEnd(24)} ${r.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  failed ${r.failed}`,
      )
    }
    const [software, viaProxy] = [results[0]![1], results[1]![1]]
    console.log(
      `  through the XKS proxy: ${((100 * viaProxy.requestsPerSecond) / software.requestsPerSecond).toFixed(1)} % of the software key's rate`,
    )
    return results.every(([, r]) => r.failed === 0)
  } catch (error) {
    for (const s of servers)
      console.error(`--- ${s.child.spawnargs.slice(1, 3).join(' ')}:\n${s.tail()}`)
    throw error
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    await xks.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
