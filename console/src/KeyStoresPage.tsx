import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DisconnectCustomKeyStoreCommand,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
  type KMSClient,
} from '@aws-sdk/client-kms'
import { useCallback, useEffect, useState } from 'react'
import { errorText } from './session.ts'
import { ConfirmDialog, ErrorBox, FieldError, formatDate, Modal } from './ui.tsx'

/** ConnectionState in words (Developer Guide, "Viewing a custom key store"). */
const STATE_TEXT: Readonly<Record<string, string>> = {
  CONNECTED: 'Connected: keys in it can be used.',
  CONNECTING: 'Connecting: this can take a few minutes.',
  DISCONNECTED: 'Disconnected: keys in it cannot be used until it is connected.',
  DISCONNECTING: 'Disconnecting.',
  FAILED:
    'Failed: the last connection attempt failed; see the error, fix it, disconnect and connect again.',
}

/** ConnectionErrorCode in words (API Reference, CustomKeyStoresListEntry). */
export const ERROR_CODE_TEXT: Readonly<Record<string, string>> = {
  CLUSTER_NOT_FOUND: 'The HSM cluster the key store names was not found.',
  INSUFFICIENT_CLOUDHSM_HSMS: 'The HSM cluster has no HSM (it needs at least one active HSM).',
  INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET: 'A subnet of the cluster has no free IP address.',
  INTERNAL_ERROR: 'An internal error prevented the connection; try again.',
  INVALID_CREDENTIALS: 'The kmsuser password is wrong: update the key store with the current one.',
  NETWORK_ERRORS: 'The HSM could not be reached over the network.',
  SUBNET_NOT_FOUND: 'A subnet of the cluster was deleted.',
  USER_LOCKED_OUT: 'The kmsuser account is locked out of the HSM: reset its password.',
  USER_LOGGED_IN: 'The kmsuser account is logged in to the HSM elsewhere: log it out.',
  USER_NOT_FOUND: 'The HSM has no kmsuser account: create it.',
  XKS_PROXY_ACCESS_DENIED:
    'The external key store proxy refused the proxy authentication credential.',
  XKS_PROXY_INVALID_CONFIGURATION: 'The external key store proxy is misconfigured.',
  XKS_PROXY_INVALID_RESPONSE:
    'The external key store proxy answered something that is not a valid response.',
  XKS_PROXY_INVALID_TLS_CONFIGURATION: 'The TLS configuration of the proxy is not valid.',
  XKS_PROXY_NOT_REACHABLE: 'The external key store proxy could not be reached.',
  XKS_PROXY_TIMED_OUT: 'The external key store proxy did not answer in time.',
  XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION: 'The VPC endpoint service is misconfigured.',
  XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND: 'The VPC endpoint service was not found.',
}

/** The Custom key stores page: list, create, connect, disconnect, edit and delete. */
export function KeyStoresPage(props: { client: KMSClient }) {
  const { client } = props
  const [stores, setStores] = useState<CustomKeyStoresListEntry[]>()
  const [error, setError] = useState<string>()
  const [creating, setCreating] = useState(false)
  const [editing, setEditing] = useState<CustomKeyStoresListEntry>()
  const [deleting, setDeleting] = useState<CustomKeyStoresListEntry>()
  const load = useCallback(async () => {
    try {
      const all: CustomKeyStoresListEntry[] = []
      let marker: string | undefined
      do {
        const out = await client.send(new DescribeCustomKeyStoresCommand({ Marker: marker }))
        all.push(...(out.CustomKeyStores ?? []))
        marker = out.Truncated ? out.NextMarker : undefined
      } while (marker)
      setStores(all)
    } catch (e) {
      setStores([])
      setError(errorText(e))
    }
  }, [client])
  useEffect(() => {
    void load()
  }, [load])
  const run = (fn: () => Promise<unknown>) => {
    setError(undefined)
    fn().then(
      () => load(),
      (e: unknown) => setError(errorText(e)),
    )
  }
  return (
    <section aria-labelledby="stores-title">
      <div className="page-head">
        <h1 id="stores-title">Custom key stores</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create key store
        </button>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorBox error={error} />
      <div className="table-scroll" tabIndex={0} role="region" aria-label="Custom key stores table">
        <table aria-busy={stores === undefined}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              <th scope="col">Type</th>
              <th scope="col">Connection state</th>
              <th scope="col">Backed by</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {stores?.map((s) => {
              const name = s.CustomKeyStoreName ?? ''
              const id = s.CustomKeyStoreId ?? ''
              const state = s.ConnectionState ?? ''
              return (
                <tr key={id} data-store-id={id}>
                  <td>{name}</td>
                  <td>{id}</td>
                  <td>
                    {s.CustomKeyStoreType === 'EXTERNAL_KEY_STORE'
                      ? 'External key store'
                      : 'HSM key store'}
                  </td>
                  <td className="status">
                    <strong>{state}</strong> {STATE_TEXT[state]}
                    {s.ConnectionErrorCode && (
                      <>
                        <br />
                        {s.ConnectionErrorCode}: {ERROR_CODE_TEXT[s.ConnectionErrorCode] ?? ''}
                      </>
                    )}
                  </td>
                  <td>{s.CloudHsmClusterId ?? s.XksProxyConfiguration?.UriEndpoint ?? ''}</td>
                  <td>{formatDate(s.CreationDate)}</td>
                  <td className="actions">
                    {state === 'DISCONNECTED' ? (
                      <button
                        type="button"
                        aria-label={`Connect ${name}`}
                        onClick={() =>
                          run(() =>
                            client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id })),
                          )
                        }
                      >
                        Connect
                      </button>
                    ) : (
                      <button
                        type="button"
                        aria-label={`Disconnect ${name}`}
                        onClick={() =>
                          run(() =>
                            client.send(
                              new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }),
                            ),
                          )
                        }
                      >
                        Disconnect
                      </button>
                    )}
                    <button type="button" aria-label={`Edit ${name}`} onClick={() => setEditing(s)}>
                      Edit
                    </button>
                    <button
                      type="button"
                      aria-label={`Delete ${name}`}
                      onClick={() => setDeleting(s)}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              )
            })}
            {stores?.length === 0 && (
              <tr>
                <td colSpan={7}>No custom key stores.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {creating && (
        <StoreDialog
          client={client}
          onClose={(changed) => {
            setCreating(false)
            if (changed) void load()
          }}
        />
      )}
      {editing && (
        <StoreDialog
          client={client}
          store={editing}
          onClose={(changed) => {
            setEditing(undefined)
            if (changed) void load()
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete custom key store"
          confirmLabel="Delete key store"
          onCancel={() => setDeleting(undefined)}
          onConfirm={() => {
            const id = deleting.CustomKeyStoreId ?? ''
            setDeleting(undefined)
            run(() => client.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: id })))
          }}
        >
          <p>
            Delete {deleting.CustomKeyStoreName}? It must be disconnected and hold no keys (schedule
            its keys for deletion and wait for the waiting period first).
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}

interface StoreDraft {
  type: 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE'
  name: string
  clusterId: string
  trustAnchor: string
  password: string
  uriEndpoint: string
  uriPath: string
  accessKeyId: string
  secret: string
}

/** What CreateCustomKeyStore / UpdateCustomKeyStore would refuse (API Reference). */
function storeProblems(d: StoreDraft, editing: boolean): Partial<Record<keyof StoreDraft, string>> {
  const p: Partial<Record<keyof StoreDraft, string>> = {}
  if (!editing || d.name) {
    if (d.name.length < 1 || d.name.length > 256) p.name = 'The name must be 1 to 256 characters.'
  }
  if (d.type === 'AWS_CLOUDHSM') {
    if (!editing && !/^cluster-[2-7a-zA-Z]{11,16}$/.test(d.clusterId))
      p.clusterId =
        'A cluster ID looks like cluster-1a23b4cdefg (cluster- and 11 to 16 letters or digits 2–7).'
    if (!editing && !d.trustAnchor) p.trustAnchor = 'Paste the trust anchor certificate (PEM).'
    if ((!editing || d.password) && (d.password.length < 7 || d.password.length > 32))
      p.password = 'The kmsuser password must be 7 to 32 characters.'
  } else {
    if ((!editing || d.uriEndpoint) && !/^https:\/\/\S+$/.test(d.uriEndpoint))
      p.uriEndpoint = 'The proxy URI endpoint must begin with https://.'
    if ((!editing || d.uriPath) && !/^(\/[a-zA-Z0-9/_-]+\/)?kms\/xks\/v\d+$/.test(d.uriPath))
      p.uriPath = 'The proxy URI path ends in /kms/xks/v1 (an optional prefix before it).'
    if ((!editing || d.accessKeyId) && !/^[A-Z2-7]{20,30}$/.test(d.accessKeyId))
      p.accessKeyId = 'The access key ID is 20 to 30 characters A–Z and 2–7.'
    if ((!editing || d.secret) && !/^[a-zA-Z0-9/+=]{43,64}$/.test(d.secret))
      p.secret = 'The secret access key is 43 to 64 base64 characters.'
  }
  return p
}

function StoreDialog(props: {
  client: KMSClient
  store?: CustomKeyStoresListEntry
  onClose: (changed: boolean) => void
}) {
  const editing = props.store !== undefined
  const [d, setD] = useState<StoreDraft>({
    type: (props.store?.CustomKeyStoreType as StoreDraft['type']) ?? 'AWS_CLOUDHSM',
    name: '',
    clusterId: '',
    trustAnchor: '',
    password: '',
    uriEndpoint: '',
    uriPath: editing ? '' : '/kms/xks/v1',
    accessKeyId: '',
    secret: '',
  })
  const [error, setError] = useState<string>()
  const [tried, setTried] = useState(false)
  const set = (patch: Partial<StoreDraft>) => setD({ ...d, ...patch })
  const p = storeProblems(d, editing)
  const shown = (k: keyof StoreDraft) => (tried ? p[k] : undefined)
  const field = (k: keyof StoreDraft, label: string, type = 'text') => (
    <>
      <label htmlFor={`store-${k}`}>{label}</label>
      <input
        id={`store-${k}`}
        type={type}
        value={d[k]}
        aria-describedby={shown(k) ? `store-${k}-error` : undefined}
        onChange={(e) => set({ [k]: e.target.value })}
      />
      <FieldError id={`store-${k}-error`} message={shown(k)} />
    </>
  )
  const submit = async () => {
    setTried(true)
    if (Object.keys(p).length > 0) return
    setError(undefined)
    try {
      const xks =
        d.type === 'EXTERNAL_KEY_STORE'
          ? {
              ...(d.uriEndpoint ? { XksProxyUriEndpoint: d.uriEndpoint } : {}),
              ...(d.uriPath ? { XksProxyUriPath: d.uriPath } : {}),
              ...(d.accessKeyId
                ? {
                    XksProxyAuthenticationCredential: {
                      AccessKeyId: d.accessKeyId,
                      RawSecretAccessKey: d.secret,
                    },
                  }
                : {}),
            }
          : {}
      if (props.store) {
        await props.client.send(
          new UpdateCustomKeyStoreCommand({
            CustomKeyStoreId: props.store.CustomKeyStoreId,
            ...(d.name ? { NewCustomKeyStoreName: d.name } : {}),
            ...(d.password ? { KeyStorePassword: d.password } : {}),
            ...xks,
          }),
        )
      } else {
        await props.client.send(
          new CreateCustomKeyStoreCommand({
            CustomKeyStoreName: d.name,
            CustomKeyStoreType: d.type,
            ...(d.type === 'AWS_CLOUDHSM'
              ? {
                  CloudHsmClusterId: d.clusterId,
                  TrustAnchorCertificate: d.trustAnchor,
                  KeyStorePassword: d.password,
                }
              : { XksProxyConnectivity: 'PUBLIC_ENDPOINT', ...xks }),
          }),
        )
      }
      props.onClose(true)
    } catch (e) {
      setError(errorText(e))
    }
  }
  return (
    <Modal
      open
      title={editing ? `Edit ${props.store?.CustomKeyStoreName ?? ''}` : 'Create custom key store'}
      onClose={() => props.onClose(false)}
    >
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        {editing ? (
          <p>
            Leave a field empty to keep its value. The key store must be disconnected to edit it,
            except for its name.
          </p>
        ) : (
          <fieldset>
            <legend>Key store type</legend>
            <label className="check">
              <input
                type="radio"
                name="store-type"
                checked={d.type === 'AWS_CLOUDHSM'}
                onChange={() => set({ type: 'AWS_CLOUDHSM' })}
              />
              HSM key store (CloudHSM-type, a PKCS#11 token)
            </label>
            <label className="check">
              <input
                type="radio"
                name="store-type"
                checked={d.type === 'EXTERNAL_KEY_STORE'}
                onChange={() => set({ type: 'EXTERNAL_KEY_STORE' })}
              />
              External key store (an XKS proxy)
            </label>
          </fieldset>
        )}
        {field('name', editing ? 'New name' : 'Name')}
        {d.type === 'AWS_CLOUDHSM' ? (
          <>
            {!editing && field('clusterId', 'HSM cluster ID')}
            {!editing && (
              <>
                <label htmlFor="store-trustAnchor">Trust anchor certificate (PEM)</label>
                <textarea
                  id="store-trustAnchor"
                  rows={4}
                  value={d.trustAnchor}
                  aria-describedby={shown('trustAnchor') ? 'store-trustAnchor-error' : undefined}
                  onChange={(e) => set({ trustAnchor: e.target.value })}
                />
                <FieldError id="store-trustAnchor-error" message={shown('trustAnchor')} />
              </>
            )}
            {field('password', 'kmsuser password', 'password')}
          </>
        ) : (
          <>
            {field('uriEndpoint', 'Proxy URI endpoint')}
            {field('uriPath', 'Proxy URI path')}
            {field('accessKeyId', 'Proxy credential: access key ID')}
            {field('secret', 'Proxy credential: secret access key', 'password')}
          </>
        )}
        <ErrorBox error={error} />
        <div className="buttons">
          <button type="button" onClick={() => props.onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="primary">
            {editing ? 'Save' : 'Create key store'}
          </button>
        </div>
      </form>
    </Modal>
  )
}
