/**
 * The order in which AWS lists an enum's values in a ValidationException
 * ("Member must satisfy enum value set: [...]").
 *
 * AWS's validator iterates a java.util.HashSet built from the model's enum, so the order is
 * neither the model's nor sorted. We reproduce HashSet iteration (String#hashCode, the spread
 * `h ^ (h >>> 16)`, a power-of-two table sized for load factor 0.75, buckets in index order,
 * insertion order within a bucket). Checked against recordings of real AWS answers in
 * test/wire/enum-order.test.ts, e.g. [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512].
 *
 * Two members were recorded with an order that is not a String HashSet (they are validated as
 * Java enums); for those the recorded list comes first, verbatim. See
 * ../shared/reference/aws-recorded-errors.md (CreateKey, 2023-04-13). Values added to the model
 * since that recording (KEY_AGREEMENT, SM2, the ML_DSA_* specs, ECC_NIST_EDWARDS25519) are
 * appended after it in the model's order: a Java enum lists its constants in declaration order,
 * and AWS declares new constants after the old ones, so this is the likeliest order of a newer
 * answer, and a caller reading the message sees every value Keyward accepts.
 */
const RECORDED_ORDERS: Readonly<Record<string, readonly string[]>> = {
  keySpec: [
    'RSA_2048',
    'ECC_NIST_P384',
    'ECC_NIST_P256',
    'ECC_NIST_P521',
    'HMAC_384',
    'RSA_3072',
    'ECC_SECG_P256K1',
    'RSA_4096',
    'SYMMETRIC_DEFAULT',
    'HMAC_256',
    'HMAC_224',
    'HMAC_512',
  ],
  keyUsage: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'],
}

/** Java's String#hashCode over UTF-16 code units, as a signed 32-bit integer. */
export function javaStringHash(value: string): number {
  let h = 0
  for (let i = 0; i < value.length; i++) h = (Math.imul(31, h) + value.charCodeAt(i)) | 0
  return h
}

/**
 * Iteration order of a java.util.HashSet into which `values` were added in order.
 *
 * @example
 *   javaHashSetOrder(['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'])
 *   // → ['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512']
 */
export function javaHashSetOrder(values: readonly string[]): string[] {
  let capacity = 16
  while (values.length > capacity * 0.75) capacity *= 2
  const buckets = new Map<number, string[]>()
  for (const v of values) {
    const h = javaStringHash(v)
    const index = (h ^ (h >>> 16)) & (capacity - 1)
    const bucket = buckets.get(index)
    if (bucket) bucket.push(v)
    else buckets.set(index, [v])
  }
  return [...buckets.keys()].sort((a, b) => a - b).flatMap((i) => buckets.get(i) ?? [])
}

/**
 * The enum list as AWS prints it for the member `memberName` (camelCase wire name) whose model
 * enum is `values`.
 *
 * A recording belongs to one enum, not to every member of that name: GenerateDataKey's
 * `keySpec` (AES_256, AES_128) shares CreateKey's member name. So the recorded list is used
 * only when all of its values are values of this member. The model may have gained values since
 * the recording: those follow the recorded ones, in the order `values` (the model) gives them,
 * so that the list names every accepted value.
 *
 * @example
 *   awsEnumOrder('macAlgorithm', ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'])
 *   // → ['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512']
 *   awsEnumOrder('keyUsage', ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'])
 *   // → ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']
 */
export function awsEnumOrder(memberName: string, values: readonly string[]): readonly string[] {
  const recorded = RECORDED_ORDERS[memberName]
  if (recorded && recorded.every((v) => values.includes(v))) {
    return [...recorded, ...values.filter((v) => !recorded.includes(v))]
  }
  return javaHashSetOrder(values)
}
