import { HsmConnectionError } from '../adapters/pkcs11/hsm-errors.js'
import { UnsupportedOperationException, ValidationException } from '../domain/errors/exceptions.js'
import type { Handler, OperationContext } from './context.js'
import { customKeyStoreInvalidState, requireCustomKeyStore } from './support/custom-key-stores.js'
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
    return { Plaintext: await randomFromHsm(ctx, input.CustomKeyStoreId, input.NumberOfBytes) }
  }
  return { Plaintext: ctx.random.bytes(input.NumberOfBytes) }
}

/** C_GenerateRandom on the token of a connected store. */
async function randomFromHsm(
  ctx: OperationContext,
  customKeyStoreId: string,
  length: number,
): Promise<Buffer> {
  const store = await requireCustomKeyStore(ctx.keys, ctx.scope, customKeyStoreId)
  // "This parameter is not valid for … external key stores" (kms-api.md, GenerateRandom).
  if (store.customKeyStoreType === 'EXTERNAL_KEY_STORE') {
    throw new UnsupportedOperationException(
      `Custom key store ${customKeyStoreId} is an external key store: GenerateRandom with CustomKeyStoreId is supported only for AWS CloudHSM key stores.`,
    )
  }
  if (store.connectionState !== 'CONNECTED') {
    throw customKeyStoreInvalidState(store, 'Random bytes come only from a connected store.')
  }
  try {
    return await (await ctx.customKeyStores.tokenFor(store)).random(length)
  } catch (cause) {
    if (!(cause instanceof HsmConnectionError)) throw cause
    throw customKeyStoreInvalidState(store, 'Its HSM cannot be reached.')
  }
}
