import { KMSClient } from '@aws-sdk/client-kms'
import type { ManualClock } from '../../src/ports/clock.js'
import { ADMIN } from './keyward-server.js'

/**
 * SDK clients for a server that runs on a ManualClock. SigV4 refuses a request whose date is
 * more than 5 minutes off the server's clock, so each client signs with the manual time of its
 * creation (systemClockOffset): take a new client after moving the clock, and for every
 * request, since an SDK client corrects its offset from the Date header of each answer, which
 * the server writes with the machine's time.
 *
 * @example
 *   const clients = new ClockedClients(clock)
 *   await clients.kms(kw.endpoint).send(new CreateKeyCommand({}))
 *   clock.advance(DAY_MS)
 *   await clients.kms(kw.endpoint).send(new DescribeKeyCommand({ KeyId }))
 *   clients.destroy()
 */
export class ClockedClients {
  readonly #clock: ManualClock
  readonly #clients: KMSClient[] = []

  constructor(clock: ManualClock) {
    this.#clock = clock
  }

  /** A new admin client of `endpoint` in `region`, signing at the manual clock's time. */
  kms(endpoint: string, region = 'us-east-1'): KMSClient {
    const client = new KMSClient({
      endpoint,
      region,
      credentials: ADMIN,
      maxAttempts: 1,
      systemClockOffset: this.#clock.now() - Date.now(),
    })
    this.#clients.push(client)
    return client
  }

  destroy(): void {
    for (const c of this.#clients.splice(0)) c.destroy()
  }
}
