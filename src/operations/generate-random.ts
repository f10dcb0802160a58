import { CUSTOM_KEY_STORE_TYPES } from '../domain/key-origins.js'
import { UnsupportedOperationException, ValidationException } from '../domain/errors/exceptions.js'
import type { Handler, OperationContext } from './context.js'
import { customKeyStoreInvalidState, requireCustomKeyStore } from './support/custom-key-stores.js'
import { whileReachable } from './support/key-backends.js'
import { refuseRecipient } from './support/symmetric.js'

/**
 * GenerateRandom: 1–1024 bytes from the CSPRNG, or, with CustomKeyStoreId, from the HSM of that
 * (connected) CloudHSM key store (API Reference, GenerateRandom: "To generate random bytes in
 * an AWS CloudHSM cluster, use the CustomKeyStoreId parameter").
 */
export const generateRandom: Handler<'GenerateRandom'> = async (ctx, input) => {
  refuseRecipient(input)
  // Optional in the model, required by the service (recorded: "NumberOfBytes is required.").
  if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.')
  if (input.CustomKeyStoreId !== undefined) {
    return { Plaintext: await randomFromStore(ctx, input.CustomKeyStoreId, input.NumberOfBytes) }
  }
  return { Plaintext: ctx.random.bytes(input.NumberOfBytes) }
}

/** Random bytes from the backend of a connected store whose type offers them (C_GenerateRandom). */
async function randomFromStore(
  ctx: OperationContext,
  customKeyStoreId: string,
  length: number,
): Promise<Buffer> {
  const store = await requireCustomKeyStore(ctx.keys, ctx.scope, customKeyStoreId)
  const storeType = CUSTOM_KEY_STORE_TYPES[store.customKeyStoreType]
  // "This parameter is not valid for … external key stores" (kms-api.md, GenerateRandom).
  if (!storeType.generateRandom) {
    throw new UnsupportedOperationException(
      `Custom key store ${customKeyStoreId} is an external key store: GenerateRandom with CustomKeyStoreId is supported only for AWS CloudHSM key stores.`,
    )
  }
  if (store.connectionState !== 'CONNECTED') {
    throw customKeyStoreInvalidState(store, 'Random bytes come only from a connected store.')
  }
  return whileReachable(ctx, store, {
    run: () => ctx.backends[storeType.backend].random(length, { store }),
    unreachable: () => customKeyStoreInvalidState(store, 'Its HSM cannot be reached.'),
  })
}
