import type { KMSClient } from '@aws-sdk/client-kms'
import { lazy, Suspense, useCallback, useEffect, useState } from 'react'
import { KeyActions } from './KeyActions.tsx'
import {
  KEY_SPECS,
  loadKeyPage,
  NO_FILTERS,
  ORIGIN_LABELS,
  originText,
  searchKeys,
  STATUS_LABELS,
  statusText,
  type KeyFilters,
  type KeyRow,
} from './keys.ts'
import { errorText } from './session.ts'
import { ErrorBox, formatDate } from './ui.tsx'

const PAGE_SIZES = [10, 25, 50, 100]

/** Loaded when first opened: the page's first load parses less script. */
const CreateKeyDialog = lazy(() =>
  import('./CreateKeyDialog.tsx').then((m) => ({ default: m.CreateKeyDialog })),
)

/** The Keys page: one server-side page of keys at a time, with search, filters and actions. */
export function KeysPage(props: { client: KMSClient }) {
  const { client } = props
  const [pageSize, setPageSize] = useState(25)
  const [filters, setFilters] = useState<KeyFilters>(NO_FILTERS)
  // Markers of the pages before this one: ListKeys only pages forward.
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined])
  const [rows, setRows] = useState<KeyRow[]>()
  const [nextMarker, setNextMarker] = useState<string>()
  const [query, setQuery] = useState('')
  const [searching, setSearching] = useState<string>()
  const [error, setError] = useState<string>()
  const [notice, setNotice] = useState<string>()
  const [creating, setCreating] = useState(false)
  const marker = markers[markers.length - 1]

  const load = useCallback(async () => {
    setError(undefined)
    try {
      if (searching) {
        setRows(await searchKeys(client, searching))
        setNextMarker(undefined)
      } else {
        const page = await loadKeyPage(client, {
          pageSize,
          filters,
          ...(marker ? { marker } : {}),
        })
        setRows(page.rows)
        setNextMarker(page.nextMarker)
      }
    } catch (e) {
      setRows([])
      setError(errorText(e))
    }
  }, [client, pageSize, filters, marker, searching])

  useEffect(() => {
    void load()
  }, [load])

  const restart = () => setMarkers([undefined])
  const setFilter = (name: keyof KeyFilters, value: string) => {
    setFilters({ ...filters, [name]: value })
    restart()
  }

  return (
    <section aria-labelledby="keys-title">
      <div className="page-head">
        <h1 id="keys-title">Keys</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create key
        </button>
      </div>
      <form
        className="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setSearching(query.trim() || undefined)
          restart()
        }}
      >
        <label htmlFor="key-search">Search by alias or key ID</label>
        <input
          id="key-search"
          type="search"
          value={query}
          placeholder="alias/my-key, key ID or ARN"
          onChange={(e) => setQuery(e.target.value)}
        />
        <button type="submit">Search</button>
        {searching && (
          <button
            type="button"
            onClick={() => {
              setQuery('')
              setSearching(undefined)
            }}
          >
            Clear search
          </button>
        )}
      </form>
      <div className="toolbar filters">
        <FilterSelect
          label="Status"
          value={filters.status}
          options={Object.entries(STATUS_LABELS)}
          onChange={(v) => setFilter('status', v)}
        />
        <FilterSelect
          label="Key spec"
          value={filters.spec}
          options={Object.keys(KEY_SPECS).map((spec) => [spec, spec])}
          onChange={(v) => setFilter('spec', v)}
        />
        <FilterSelect
          label="Origin"
          value={filters.origin}
          options={Object.entries(ORIGIN_LABELS)}
          onChange={(v) => setFilter('origin', v)}
        />
        <label>
          Per page
          <select
            value={pageSize}
            onChange={(e) => {
              setPageSize(Number(e.target.value))
              restart()
            }}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      <ErrorBox error={error} />
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Keys table">
        <table aria-busy={rows === undefined}>
          <thead>
            <tr>
              <th scope="col">Aliases</th>
              <th scope="col">Key ID</th>
              <th scope="col">Status</th>
              <th scope="col">Key spec</th>
              <th scope="col">Key usage</th>
              <th scope="col">Origin / protection</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((row) => (
              <KeyTableRow
                key={row.keyId}
                client={client}
                row={row}
                onChanged={() => void load()}
                onError={setError}
              />
            ))}
            {rows?.length === 0 && (
              <tr>
                <td colSpan={8}>No keys.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages of keys">
        <button
          type="button"
          disabled={markers.length < 2}
          onClick={() => setMarkers(markers.slice(0, -1))}
        >
          Previous page
        </button>
        <span>Page {markers.length}</span>
        <button
          type="button"
          disabled={!nextMarker}
          onClick={() => setMarkers([...markers, nextMarker])}
        >
          Next page
        </button>
      </nav>
      {creating && (
        <Suspense fallback={null}>
          <CreateKeyDialog
            client={client}
            onClose={(created) => {
              setCreating(false)
              if (created) {
                setNotice(`Created key ${created}.`)
                restart()
                void load()
              }
            }}
          />
        </Suspense>
      )}
    </section>
  )
}

function KeyTableRow(props: {
  client: KMSClient
  row: KeyRow
  onChanged: () => void
  onError: (message: string | undefined) => void
}) {
  const { row } = props
  const m = row.metadata
  const label = row.aliases[0] ?? row.keyId
  return (
    <tr data-key-id={row.keyId}>
      <td>{row.aliases.join(', ') || '—'}</td>
      <td>
        <a href={`#/keys/${encodeURIComponent(row.keyId)}`}>{row.keyId}</a>
      </td>
      <td className="status">{row.error ? row.error : statusText(m)}</td>
      <td>{m?.KeySpec}</td>
      <td>{m?.KeyUsage}</td>
      <td>{originText(m)}</td>
      <td>{formatDate(m?.CreationDate)}</td>
      <td>
        {m && (
          <KeyActions
            client={props.client}
            metadata={m}
            label={label}
            onChanged={props.onChanged}
            onError={props.onError}
          />
        )}
      </td>
    </tr>
  )
}

/** One filter of the Keys page: "All" (the empty value) or one of `options` ([value, label]). */
function FilterSelect(props: {
  label: string
  value: string
  options: ReadonlyArray<readonly [string, string]>
  onChange: (value: string) => void
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">All</option>
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  )
}
