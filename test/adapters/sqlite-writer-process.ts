import { openSqliteKeyStore } from '../../src/adapters/store-sql/open-sqlite.js'
import { runWriter, type WriterRequest } from './key-store-contract.js'

/**
 * A writer process of the KeyStore contract's two-process race over a SQLite file (forked by
 * test/adapters/sqlite-key-store.test.ts): opens the store at argv[2] as a `--workers` process
 * does, says 'ready', runs the writer on 'go' with the request in argv[3], sends its report
 * and exits.
 */
const [path, request] = process.argv.slice(2)
const store = await openSqliteKeyStore(path!, { sharedWithOtherProcesses: true })
process.once('message', () => {
  void runWriter(store, JSON.parse(request!) as WriterRequest).then(async (report) => {
    await store.close()
    process.send!(report, () => process.disconnect())
  })
})
process.send!('ready')
