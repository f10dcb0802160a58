/**
 * A handler's output as JSON-ready values, for the KMS endpoint and the XKS proxy alike: byte
 * arrays (Buffers included) become standard Base64 (Buffer.toJSON would give an array of
 * numbers), Dates epoch seconds (AWS JSON 1.1 timestamps), and undefined members are left out.
 *
 * @example
 *   JSON.stringify(toWire({ CiphertextBlob: blob, CreationDate: new Date() }))
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64')
  if (value instanceof Date) return value.getTime() / 1000
  if (Array.isArray(value)) return value.map(toWire)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v)
    return out
  }
  return value
}
