import { SoftwareBackend } from '../../../src/adapters/backend-software/software-backend.js'
import { systemRandom } from '../../../src/ports/random.js'
import { runBackendContract, TestMaterials } from '../backend-contract.js'

runBackendContract(
  'software (material wrapped under the root key)',
  async () => {
    const materials = new TestMaterials()
    return {
      backend: new SoftwareBackend({ materials, random: systemRandom }),
      materials,
      keyExtras: async () => ({}),
      close: async () => {},
    }
  },
  [
    {
      test: 'destroy',
      reason:
        'software material is deleted with the key record, in the transaction of KeyService.destroy; the backend holds none to destroy',
    },
    {
      test: 'unreachable',
      reason: 'software material lives in the key store of this process: it cannot be unreachable',
    },
  ],
)
