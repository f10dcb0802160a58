import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KMSClient } from '@aws-sdk/client-kms'
import { createEmbeddedKeyward, type Keyward } from '../../src/server.js'
import { ADMIN, CapturingLogger } from './keyward-server.js'

/** The root key every test node shares (base64 of 32 bytes), as KEYWARD_ROOT_KEY. */
export const NODE_ROOT_KEY = Buffer.alloc(32, 9).toString('base64')

/** One Keyward node over a shared PostgreSQL store, as `keyward serve --store` makes it. */
export interface TestNode {
  readonly endpoint: string
  readonly keyward: Keyward
  readonly logger: CapturingLogger
  /** An SDK client (development mode: any signature is the admin of 111122223333). */
  client(options?: { maxAttempts?: number }): KMSClient
  close(): Promise<void>
}

/**
 * Starts a node on a random loopback port: its own data directory (principals), the shared
 * root key, the PostgreSQL store at `storeUrl`, in development mode.
 *
 * @example
 *   const [a, b] = await Promise.all([startNode({ storeUrl }), startNode({ storeUrl })])
 */
export async function startNode(options: {
  readonly storeUrl: string
  readonly cacheTtlMs?: number
  readonly rootKey?: string
}): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-node-'))
  const logger = new CapturingLogger()
  try {
    const { keyward } = await createEmbeddedKeyward({
      dataDir,
      dev: true,
      storeUrl: options.storeUrl,
      ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
      env: { KEYWARD_ROOT_KEY: options.rootKey ?? NODE_ROOT_KEY },
      logger,
    })
    const address = await keyward.listen(0, '127.0.0.1')
    const endpoint = `http://127.0.0.1:${address.port}`
    const clients: KMSClient[] = []
    return {
      endpoint,
      keyward,
      logger,
      client: ({ maxAttempts = 1 } = {}) => {
        const c = new KMSClient({ endpoint, region: 'us-east-1', credentials: ADMIN, maxAttempts })
        clients.push(c)
        return c
      },
      close: async () => {
        for (const c of clients) c.destroy()
        await keyward.close()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}
