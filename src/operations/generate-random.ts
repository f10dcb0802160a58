import { UnsupportedOperationException, ValidationException } from '../wire/generated/exceptions.js'
import type { Handler } from './context.js'
import { refuseRecipient } from './support/symmetric.js'

/** GenerateRandom: 1–1024 bytes from the CSPRNG (API Reference, GenerateRandom). */
export const generateRandom: Handler<'GenerateRandom'> = async (ctx, input) => {
  refuseRecipient(input)
  // Optional in the model, required by the service (recorded: "NumberOfBytes is required.").
  if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.')
  if (input.CustomKeyStoreId !== undefined) {
    throw new UnsupportedOperationException(
      'Custom key stores are not supported by this Keyward version.',
    )
  }
  return { Plaintext: ctx.random.bytes(input.NumberOfBytes) }
}
