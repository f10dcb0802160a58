import { openPostgresKeyStore } from '../../src/adapters/store-pg/open-postgres.js'
import { runWriter, type WriterRequest } from './key-store-contract.js'

/**
 * A writer process of the KeyStore contract's two-process race over PostgreSQL (forked by
 * test/adapters/postgres-key-store.test.ts): another node on the same database. Opens the
 * store at the URL in argv[2], says 'ready', runs the writer on 'go' with the request in
 * argv[3], sends its report and exits.
 */
const [url, request] = process.argv.slice(2)
const store = await openPostgresKeyStore(url!)
process.once('message', () => {
  void runWriter(store, JSON.parse(request!) as WriterRequest).then(async (report) => {
    await store.close()
    process.send!(report, () => process.disconnect())
  })
})
process.send!('ready')
