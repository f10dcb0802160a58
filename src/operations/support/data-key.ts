import { ValidationException } from '../../domain/errors/exceptions.js'
import type { EncryptionContext } from '../../domain/encryption-context.js'
import type { KeyRecord } from '../../domain/key.js'
import { stopIfDryRun, type OperationContext } from '../context.js'
import { keyForDataKey, sealUnderKey } from './symmetric.js'

/** Bytes of a data key of each DataKeySpec (API Reference, GenerateDataKey, KeySpec). */
const DATA_KEY_BYTES = { AES_128: 16, AES_256: 32 } as const

/**
 * The length of the data key a GenerateDataKey* request asks for. The API Reference says "You
 * must specify either the KeySpec or the NumberOfBytes parameter (but not both) in every
 * GenerateDataKey request"; the model marks both optional, so the rule is enforced here. The
 * message is not in our AWS recordings (../shared/reference); every emulator that models it
 * (moto, LocalStack, local-kms) uses this one sentence for both cases, which we follow.
 * NumberOfBytes' 1–1024 range is checked by the generated validator before this runs.
 *
 * @example
 *   dataKeyLength({ KeySpec: 'AES_128' }) // 16
 *   dataKeyLength({ NumberOfBytes: 64 }) // 64
 */
export function dataKeyLength(input: {
  readonly KeySpec?: keyof typeof DATA_KEY_BYTES | undefined
  readonly NumberOfBytes?: number | undefined
}): number {
  const { KeySpec: spec, NumberOfBytes: bytes } = input
  if ((spec === undefined) === (bytes === undefined)) {
    throw new ValidationException('Please specify either number of bytes or key spec.')
  }
  return spec !== undefined ? DATA_KEY_BYTES[spec] : bytes!
}

/** A fresh data key and its copy sealed under a KMS key. */
export interface SealedDataKey {
  readonly key: KeyRecord
  readonly plaintext: Buffer
  readonly blob: Buffer
  readonly keyMaterialId: string
}

/**
 * What GenerateDataKey and GenerateDataKeyWithoutPlaintext share: check the request and the
 * key, stop for DryRun, then draw the data key from the CSPRNG and seal it exactly as Encrypt
 * seals a plaintext (same module, same encryption-context binding).
 *
 * @example
 *   const { key, blob, plaintext } = await sealNewDataKey(ctx, { input, operation: 'GenerateDataKey' })
 */
export async function sealNewDataKey(
  ctx: OperationContext,
  req: {
    input: {
      readonly KeyId: string
      readonly KeySpec?: keyof typeof DATA_KEY_BYTES | undefined
      readonly NumberOfBytes?: number | undefined
      readonly EncryptionContext?: EncryptionContext | undefined
      readonly DryRun?: boolean | undefined
    }
    operation: 'GenerateDataKey' | 'GenerateDataKeyWithoutPlaintext'
  },
): Promise<SealedDataKey> {
  const { input, operation } = req
  const length = dataKeyLength(input)
  const key = await keyForDataKey(ctx, { keyId: input.KeyId, operation })
  stopIfDryRun(input)
  const plaintext = ctx.random.bytes(length)
  const { blob, keyMaterialId } = await sealUnderKey(ctx, {
    key,
    plaintext,
    context: input.EncryptionContext,
  })
  return { key, plaintext, blob, keyMaterialId }
}
