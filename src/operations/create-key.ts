import { UnsupportedOperationException, ValidationException } from '../domain/errors/exceptions.js'
import { keyArn } from '../domain/identifiers.js'
import { toKeyMetadata, type KeyRecord, type MultiRegionSet } from '../domain/key.js'
import { defaultKeyPolicy } from '../domain/policy/index.js'
import { KEY_SPECS, type KeySpec, type KeyUsage } from '../domain/key-specs.js'
import { mergeTags } from '../domain/tags.js'
import { inCustomKeyStore, KEY_ORIGINS, originOf } from '../domain/key-origins.js'
import type { CreateKeyInput } from '../wire/generated/model.js'
import type { Random } from '../ports/random.js'
import type { Handler } from './context.js'
import { backendCall } from './support/key-backends.js'
import { assertAcceptableKeyPolicy } from './support/key-policies.js'
import {
  assertCustomStoreKeyRequest,
  createKeyInCustomKeyStore,
} from './support/custom-store-key-creation.js'

/** KeySpec and its deprecated synonym CustomerMasterKeySpec (API Reference, CreateKey). */
function chooseKeySpec(input: CreateKeyInput): KeySpec {
  if (
    input.KeySpec &&
    input.CustomerMasterKeySpec &&
    input.KeySpec !== input.CustomerMasterKeySpec
  ) {
    throw new ValidationException(
      'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.',
    )
  }
  return input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT'
}

/** KeyUsage is mandatory for every spec but symmetric encryption, and must suit the spec. */
function chooseKeyUsage(spec: KeySpec, usage: KeyUsage | undefined): KeyUsage {
  const capabilities = KEY_SPECS[spec]
  const chosen = usage ?? capabilities.defaultUsage
  if (!chosen) {
    throw new ValidationException(
      'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
    )
  }
  if (!capabilities.keyUsages.includes(chosen)) {
    throw new ValidationException(`KeyUsage ${chosen} is not compatible with KeySpec ${spec}`)
  }
  return chosen
}

/** Refuses what this version of Keyward does not do yet, rather than pretending to. */
function refuseUnbuilt(input: CreateKeyInput, spec: KeySpec): void {
  if (!KEY_SPECS[spec].implemented) {
    throw new UnsupportedOperationException(
      `KeySpec ${spec} is not supported by this Keyward version.`,
    )
  }
  const origin = originOf(input)
  const inCustomStore = inCustomKeyStore(origin)
  if (input.CustomKeyStoreId !== undefined && !inCustomStore) {
    throw new ValidationException(
      'CustomKeyStoreId can be specified only when Origin is AWS_CLOUDHSM or EXTERNAL_KEY_STORE.',
    )
  }
  // AWS takes imported material for symmetric, HMAC, RSA, ECC and SM2 keys (kms-api.md §3.7);
  // how it takes ML-DSA material is not documented, so Keyward does not guess.
  if (KEY_ORIGINS[origin].material === 'imported' && !KEY_SPECS[spec].importable) {
    throw new UnsupportedOperationException(
      `KeySpec ${spec} does not support imported key material in this Keyward version.`,
    )
  }
  if (input.XksKeyId !== undefined && !KEY_ORIGINS[origin].takesXksKeyId) {
    throw new ValidationException(
      'XksKeyId can be specified only when Origin is EXTERNAL_KEY_STORE.',
    )
  }
}

const newPrimarySet = (region: string): MultiRegionSet => ({
  keyType: 'PRIMARY',
  primaryRegion: region,
  replicaRegions: [],
})

/**
 * A new key's ID: a UUID, or for a multi-Region key `mrk-` and 32 lowercase hex digits, the ID
 * every related key will share (Developer Guide, "Multi-Region key identifiers").
 */
function newKeyId(random: Random, multi: boolean): string {
  return multi ? `mrk-${random.bytes(16).toString('hex')}` : random.uuid()
}

/**
 * CreateKey: a new customer managed key, Enabled, with fresh material of its key spec (an AES-256
 * key, a key pair, an HMAC key or an ML-DSA seed) wrapped under the root key; or, with Origin
 * EXTERNAL, a key with no material, PendingImport, until ImportKeyMaterial; or, with Origin
 * AWS_CLOUDHSM, a key whose material is generated and kept inside the HSM of a custom key store;
 * or, with Origin EXTERNAL_KEY_STORE, a key backed by an external key behind an XKS proxy and
 * by material of its own (API Reference, CreateKey).
 */
export const createKey: Handler<'CreateKey'> = async (ctx, input) => {
  const keySpec = chooseKeySpec(input)
  const keyUsage = chooseKeyUsage(keySpec, input.KeyUsage)
  refuseUnbuilt(input, keySpec)
  const origin = originOf(input)
  if (inCustomKeyStore(origin)) assertCustomStoreKeyRequest(input, { keySpec, keyUsage })
  const tags = mergeTags([], input.Tags ?? [])
  const multiRegion = input.MultiRegion === true
  const keyId = newKeyId(ctx.random, multiRegion)
  // Without a Policy, AWS's default key policy, which delegates to the account's IAM policies
  // (Developer Guide, "Default key policy"); a given one is checked, lockout check included.
  const policy = input.Policy ?? defaultKeyPolicy(ctx.scope.accountId)
  if (input.Policy !== undefined) {
    assertAcceptableKeyPolicy(ctx, {
      policy: input.Policy,
      keyArn: keyArn(ctx.scope, keyId),
      bypass: input.BypassPolicyLockoutSafetyCheck,
    })
  }
  const base = {
    schemaVersion: 1,
    keyId,
    accountId: ctx.scope.accountId,
    region: ctx.scope.region,
    arn: keyArn(ctx.scope, keyId),
    creationDate: ctx.clock.now(),
    description: input.Description ?? '',
    keyUsage,
    keySpec,
    keyManager: 'CUSTOMER',
    multiRegion,
    // A new multi-Region key is the primary of a set without replicas (API Reference,
    // CreateKey, MultiRegion; recorded answer: `"ReplicaKeys": []`).
    ...(multiRegion ? { multiRegionConfiguration: newPrimarySet(ctx.scope.region) } : {}),
    policy,
    tags,
  } as const
  if (inCustomKeyStore(origin)) {
    const key = await createKeyInCustomKeyStore(ctx, base, input)
    return { KeyMetadata: toKeyMetadata(key) }
  }
  if (KEY_ORIGINS[origin].material === 'imported') {
    const key: KeyRecord = {
      ...base,
      keyState: 'PendingImport',
      origin,
      materialIdKey: await ctx.keys.newMaterialIdKey(base),
    }
    await ctx.keys.create(key)
    return { KeyMetadata: toKeyMetadata(key) }
  }
  // Material of the kind the table names (AES key, key pair, HMAC key, ML-DSA seed), from the
  // backend of the origin (software: wrapped under the root key by KeyService.create).
  const generated = await ctx.backends[KEY_ORIGINS[origin].backend].generate(base, {
    call: backendCall(ctx),
  })
  const keyMaterialId = ctx.keys.newKeyMaterialId()
  const key: KeyRecord = {
    ...base,
    keyState: 'Enabled',
    origin,
    currentKeyMaterialId: keyMaterialId,
    ...(generated.publicKey ? { publicKey: generated.publicKey.toString('base64') } : {}),
  }
  await ctx.keys.create(key, generated.bytes && { keyMaterialId, bytes: generated.bytes })
  return { KeyMetadata: toKeyMetadata(key) }
}
