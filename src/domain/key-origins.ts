/**
 * The one origin table, beside KEY_SPECS: for each Origin of a KMS key, which backend holds its
 * material, which custom key store type it lives in, and what such a key may do (API Reference,
 * CreateKey, Origin; Developer Guide, "Key states" footnotes and "Custom key stores"; kms-api.md
 * §3.4 and §3.7). Operations and services ask this table instead of comparing origins, and
 * reach the backend through the KeyMaterialBackend port (src/ports/key-material-backend.ts).
 *
 * This module imports nothing from the rest of the domain: src/domain/key.ts re-exports
 * {@link Origin}, so there is no import circle between the two.
 */

/** AWS's Origin values (API Reference, KeyMetadata.Origin). */
export type Origin = 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE'

/** The custom key store types (API Reference, CustomKeyStoreType). */
export type CustomKeyStoreType = 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE'

/**
 * The kinds of key material backend: software (material wrapped under the root key, in the
 * key store), pkcs11 (a non-extractable object on the token of a CloudHSM-type store), xks
 * (an external key behind an XKS proxy, over material of Keyward's own: double encryption).
 */
export type BackendKind = 'software' | 'pkcs11' | 'xks'

/** What a key of one origin is and may do. */
export interface OriginCapabilities {
  /** The backend that seals and opens under the key's material. */
  readonly backend: BackendKind
  /** The custom key store type its keys live in; absent for keys outside custom key stores. */
  readonly customKeyStoreType?: CustomKeyStoreType
  /** Generated with the key, or imported later (ImportKeyMaterial, Origin EXTERNAL). */
  readonly material: 'generated' | 'imported'
  /**
   * The material lives only in the backend (a non-extractable HSM object), so deleting the key
   * must destroy it there: "AWS KMS makes a best effort to delete the key material from the
   * associated AWS CloudHSM cluster" (API Reference, ScheduleKeyDeletion). Software material
   * goes with the key's record; an external key belongs to its key manager.
   */
  readonly backendHoldsMaterial: boolean
  /** CreateKey requires XksKeyId (and accepts it only for this origin). */
  readonly takesXksKeyId: boolean
  /** EnableKeyRotation and the rotation job (Developer Guide, "Rotating AWS KMS keys"). */
  readonly automaticRotation: boolean
  /** RotateKeyOnDemand (API Reference, RotateKeyOnDemand; imported material since 2025-06). */
  readonly onDemandRotation: boolean
  /**
   * GenerateDataKeyPair(WithoutPlaintext): "not supported in custom key stores" (Developer
   * Guide, "KMS keys in external key stores" and "… in AWS CloudHSM key stores").
   */
  readonly dataKeyPairs: boolean
  /**
   * KeyMetadata.CurrentKeyMaterialId: "present for symmetric encryption keys with AWS_KMS
   * origin and single-Region, symmetric encryption keys with EXTERNAL origin" (API Reference).
   */
  readonly reportsCurrentKeyMaterialId: boolean
}

/**
 * The origin table.
 *
 * @example
 *   if (!KEY_ORIGINS[key.origin].dataKeyPairs) throw originNotValid(key)
 */
export const KEY_ORIGINS: Readonly<Record<Origin, OriginCapabilities>> = {
  AWS_KMS: {
    backend: 'software',
    material: 'generated',
    backendHoldsMaterial: false,
    takesXksKeyId: false,
    automaticRotation: true,
    onDemandRotation: true,
    dataKeyPairs: true,
    reportsCurrentKeyMaterialId: true,
  },
  EXTERNAL: {
    backend: 'software',
    material: 'imported',
    backendHoldsMaterial: false,
    takesXksKeyId: false,
    automaticRotation: false,
    onDemandRotation: true,
    dataKeyPairs: true,
    reportsCurrentKeyMaterialId: true,
  },
  // Keys in a custom key store cannot rotate (kms-api.md §3.4, footnote [7]).
  AWS_CLOUDHSM: {
    backend: 'pkcs11',
    customKeyStoreType: 'AWS_CLOUDHSM',
    material: 'generated',
    backendHoldsMaterial: true,
    takesXksKeyId: false,
    automaticRotation: false,
    onDemandRotation: false,
    dataKeyPairs: false,
    reportsCurrentKeyMaterialId: false,
  },
  EXTERNAL_KEY_STORE: {
    backend: 'xks',
    customKeyStoreType: 'EXTERNAL_KEY_STORE',
    material: 'generated',
    backendHoldsMaterial: false,
    takesXksKeyId: true,
    automaticRotation: false,
    onDemandRotation: false,
    dataKeyPairs: false,
    reportsCurrentKeyMaterialId: false,
  },
}

/** What a custom key store of one type is and may do. */
export interface StoreTypeCapabilities {
  /** The Origin of every key in a store of this type. */
  readonly origin: Origin
  readonly backend: BackendKind
  /**
   * GenerateRandom with CustomKeyStoreId: "This parameter is not valid for … external key
   * stores" (API Reference, GenerateRandom).
   */
  readonly generateRandom: boolean
  /** Whether Keyward polls the store's backend for health while CONNECTED (XKS spec). */
  readonly healthPolled: boolean
}

/**
 * The custom key store types, the other way round.
 *
 * @example
 *   if (!CUSTOM_KEY_STORE_TYPES[store.customKeyStoreType].generateRandom) throw …
 */
export const CUSTOM_KEY_STORE_TYPES: Readonly<Record<CustomKeyStoreType, StoreTypeCapabilities>> = {
  AWS_CLOUDHSM: {
    origin: 'AWS_CLOUDHSM',
    backend: 'pkcs11',
    generateRandom: true,
    healthPolled: false,
  },
  EXTERNAL_KEY_STORE: {
    origin: 'EXTERNAL_KEY_STORE',
    backend: 'xks',
    generateRandom: false,
    // AWS KMS polls proxies "every few minutes" (XKS spec, GetHealthStatus).
    healthPolled: true,
  },
}

/**
 * Whether keys of this origin live in a custom key store (so that their availability follows
 * the store's connection state: kms-api.md §3.3).
 *
 * @example
 *   inCustomKeyStore('AWS_CLOUDHSM') // true
 */
export function inCustomKeyStore(origin: Origin): boolean {
  return KEY_ORIGINS[origin].customKeyStoreType !== undefined
}

/**
 * The Origin of a CreateKey request (AWS_KMS when absent, as the API Reference says).
 *
 * @example
 *   KEY_ORIGINS[originOf(input)].material // 'generated'
 */
export function originOf(input: { readonly Origin?: Origin | undefined }): Origin {
  return input.Origin ?? 'AWS_KMS'
}
