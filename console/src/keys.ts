import {
  DescribeKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { KEY_SPECS, type KeySpec } from '../../src/domain/key-specs.ts'
import { errorText } from './session.ts'

// The key-spec capability table of the server (src/domain/key-specs.ts) drives the create
// dialog too: one table, so the console never offers what Keyward cannot do.
export { KEY_SPECS, type KeySpec }

export type KeyType = 'SYMMETRIC' | 'ASYMMETRIC' | 'HMAC'

export function keyTypeOf(spec: KeySpec): KeyType {
  if (spec === 'SYMMETRIC_DEFAULT') return 'SYMMETRIC'
  if (spec.startsWith('HMAC_')) return 'HMAC'
  return 'ASYMMETRIC'
}

/** The specs Keyward creates of a type and usage, in the table's order. */
export function specsFor(type: KeyType, usage: string): KeySpec[] {
  return (Object.keys(KEY_SPECS) as KeySpec[]).filter(
    (s) =>
      KEY_SPECS[s].implemented &&
      keyTypeOf(s) === type &&
      (KEY_SPECS[s].keyUsages as readonly string[]).includes(usage),
  )
}

/** The usages keys of a type can have. */
export function usagesFor(type: KeyType): string[] {
  const usages = new Set<string>()
  for (const s of Object.keys(KEY_SPECS) as KeySpec[]) {
    if (KEY_SPECS[s].implemented && keyTypeOf(s) === type)
      for (const u of KEY_SPECS[s].keyUsages) usages.add(u)
  }
  return [...usages]
}

/** One row of the Keys page. */
export interface KeyRow {
  readonly keyId: string
  readonly aliases: readonly string[]
  readonly metadata?: KeyMetadata
  readonly error?: string
}

export const STATUS_LABELS: Readonly<Record<string, string>> = {
  Enabled: 'Enabled',
  Disabled: 'Disabled',
  PendingDeletion: 'Pending deletion',
  PendingImport: 'Pending import',
  Unavailable: 'Unavailable',
  Creating: 'Creating',
  Updating: 'Updating',
  PendingReplicaDeletion: 'Pending replica deletion',
}

export function statusText(m: KeyMetadata | undefined): string {
  if (!m?.KeyState) return ''
  const label = STATUS_LABELS[m.KeyState] ?? m.KeyState
  if (m.KeyState === 'PendingDeletion' && m.DeletionDate)
    return `${label} (${m.DeletionDate.toISOString().slice(0, 10)})`
  return label
}

/** Where the key material lives, in words (Developer Guide, "Key material origin"). */
export const ORIGIN_LABELS: Readonly<Record<string, string>> = {
  AWS_KMS: 'Keyward (software)',
  EXTERNAL: 'External (imported)',
  AWS_CLOUDHSM: 'HSM key store',
  EXTERNAL_KEY_STORE: 'External key store',
}

export function originText(m: KeyMetadata | undefined): string {
  if (!m?.Origin) return ''
  const label = ORIGIN_LABELS[m.Origin] ?? m.Origin
  return m.CustomKeyStoreId ? `${label} (${m.CustomKeyStoreId})` : label
}

export interface KeyFilters {
  readonly status: string
  readonly spec: string
  readonly origin: string
}

export const NO_FILTERS: KeyFilters = { status: '', spec: '', origin: '' }

function matches(row: KeyRow, f: KeyFilters): boolean {
  const m = row.metadata
  if (!m) return f.status === '' && f.spec === '' && f.origin === ''
  return (
    (f.status === '' || m.KeyState === f.status) &&
    (f.spec === '' || m.KeySpec === f.spec) &&
    (f.origin === '' || m.Origin === f.origin)
  )
}

/** DescribeKey of one key; a refusal becomes the row's error, not the page's. */
export async function describeRow(
  client: KMSClient,
  keyId: string,
  aliases: ReadonlyMap<string, readonly string[]>,
): Promise<KeyRow> {
  try {
    const out = await client.send(new DescribeKeyCommand({ KeyId: keyId }))
    const id = out.KeyMetadata?.KeyId ?? keyId
    return { keyId: id, aliases: aliases.get(id) ?? [], metadata: out.KeyMetadata }
  } catch (e) {
    return { keyId, aliases: aliases.get(keyId) ?? [], error: errorText(e) }
  }
}

/**
 * The alias names of every key, by key id: ListAliases page by page (100 a page, at most 100
 * pages). One listing serves the whole page of keys, instead of one ListAliases per row; a
 * refused ListAliases leaves the names out rather than failing the page.
 */
export async function aliasesByKey(client: KMSClient): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>()
  let marker: string | undefined
  try {
    for (let i = 0; i < 100; i++) {
      const page = await client.send(new ListAliasesCommand({ Limit: 100, Marker: marker }))
      for (const a of page.Aliases ?? []) {
        if (!a.TargetKeyId || !a.AliasName) continue
        byKey.set(a.TargetKeyId, [...(byKey.get(a.TargetKeyId) ?? []), a.AliasName])
      }
      marker = page.Truncated ? page.NextMarker : undefined
      if (!marker) break
    }
  } catch {
    // Shown as no aliases: DescribeKey's refusals are what the rows report.
  }
  return byKey
}

/**
 * One page of keys, listed by the server (ListKeys with Limit and Marker), so thousands of
 * keys are never loaded at once; only the shown rows are described. With filters, further
 * ListKeys pages are read until the page is full or the list ends.
 */
export async function loadKeyPage(
  client: KMSClient,
  options: { marker?: string; pageSize: number; filters: KeyFilters },
): Promise<{ rows: KeyRow[]; nextMarker?: string }> {
  const f = options.filters
  const filtered = f.status !== '' || f.spec !== '' || f.origin !== ''
  const aliases = aliasesByKey(client)
  const rows: KeyRow[] = []
  let marker = options.marker
  do {
    const page = await client.send(new ListKeysCommand({ Limit: options.pageSize, Marker: marker }))
    const names = await aliases
    const described = await Promise.all(
      (page.Keys ?? []).map((k) => describeRow(client, k.KeyId ?? '', names)),
    )
    rows.push(...described.filter((r) => matches(r, options.filters)))
    marker = page.Truncated ? page.NextMarker : undefined
  } while (filtered && marker && rows.length < options.pageSize)
  return { rows, ...(marker ? { nextMarker: marker } : {}) }
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MRK_ID = /^mrk-[0-9a-f]{32}$/i

/**
 * Search by alias or key id: a full key id, key ARN or alias name is described directly; any
 * other text is looked for in the alias names (ListAliases, page by page).
 */
export async function searchKeys(client: KMSClient, query: string): Promise<KeyRow[]> {
  const q = query.trim()
  const aliases = await aliasesByKey(client)
  if (KEY_ID.test(q) || MRK_ID.test(q) || q.startsWith('arn:') || q.startsWith('alias/')) {
    const row = await describeRow(client, q, aliases)
    if (row.error) throw new Error(row.error)
    return [row]
  }
  const ids = [...aliases]
    .filter(([, names]) => names.some((n) => n.toLowerCase().includes(q.toLowerCase())))
    .map(([id]) => id)
  return Promise.all(ids.map((id) => describeRow(client, id, aliases)))
}

/** The validation rules of the API (API Reference, CreateAlias and TagResource). */
export function aliasError(name: string): string | undefined {
  if (name === '') return undefined
  const full = name.startsWith('alias/') ? name : `alias/${name}`
  if (full.length > 256) return 'The alias name must be at most 256 characters.'
  if (!/^[a-zA-Z0-9:/_-]+$/.test(full))
    return 'An alias name may contain only letters, digits, /, _ and -.'
  if (full.startsWith('alias/aws/')) return 'Alias names beginning with aws/ are reserved by AWS.'
  if (full === 'alias/') return 'The alias name cannot be empty.'
  return undefined
}

export function tagError(key: string, value: string): string | undefined {
  if (key.length < 1 || key.length > 128) return 'A tag key must be 1 to 128 characters.'
  if (value.length > 256) return 'A tag value must be at most 256 characters.'
  if (key.toLowerCase().startsWith('aws:')) return 'Tag keys beginning with aws: are reserved.'
  return undefined
}
