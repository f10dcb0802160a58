import { lazy, Suspense, useEffect, useMemo, useState } from 'react'
import { KeysPage } from './KeysPage.tsx'
import {
  clearSession,
  DEV_CREDENTIALS,
  kmsClient,
  loadSession,
  REGIONS_FALLBACK,
  saveSession,
  type ServerConfig,
  type Session,
} from './session.ts'
import { SignIn } from './SignIn.tsx'

// The Keys page is what opens first; the other pages load when visited, so the first load
// parses less script.
const KeyDetail = lazy(() => import('./KeyDetail.tsx').then((m) => ({ default: m.KeyDetail })))
const KeyStoresPage = lazy(() =>
  import('./KeyStoresPage.tsx').then((m) => ({ default: m.KeyStoresPage })),
)

/** The page a hash names: #/keys, #/keys/<key id>, #/key-stores. */
type Route = { page: 'keys' } | { page: 'key'; keyId: string } | { page: 'key-stores' }

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/')
  if (parts[0] === 'keys' && parts[1]) return { page: 'key', keyId: decodeURIComponent(parts[1]) }
  if (parts[0] === 'key-stores') return { page: 'key-stores' }
  return { page: 'keys' }
}

function useRoute(): Route {
  const [hash, setHash] = useState(window.location.hash)
  useEffect(() => {
    const onChange = () => setHash(window.location.hash)
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return routeOf(hash)
}

/** Sign-in, then the pages. The server's mode comes from GET /console/config.json. */
export function App() {
  const [config, setConfig] = useState<ServerConfig>()
  const [session, setSession] = useState<Session | undefined>(loadSession)
  const [configError, setConfigError] = useState<string>()
  const route = useRoute()

  useEffect(() => {
    fetch('config.json', { headers: { accept: 'application/json' } })
      .then((r) => (r.ok ? (r.json() as Promise<ServerConfig>) : Promise.reject(r.statusText)))
      .then(setConfig, (e: unknown) => setConfigError(String(e)))
  }, [])

  const regions = config?.regions.length ? config.regions : REGIONS_FALLBACK
  // `keyward serve --dev` accepts any well-formed signature as the admin: sign in at once.
  useEffect(() => {
    if (config?.dev && !session) {
      const s: Session = { ...DEV_CREDENTIALS, region: regions[0] ?? 'us-east-1', dev: true }
      saveSession(s)
      setSession(s)
    }
  }, [config, session, regions])

  const client = useMemo(() => (session ? kmsClient(session) : undefined), [session])

  if (configError)
    return (
      <main>
        <p role="alert">The console could not read its settings: {configError}</p>
      </main>
    )
  // A signed-in tab goes on at once; the settings only matter to sign in and pick a Region.
  if (!config && !session) return <main aria-busy="true" />
  if (!session || !client)
    return (
      <SignIn
        regions={regions}
        onSignIn={(s) => {
          saveSession(s)
          setSession(s)
        }}
      />
    )

  const signOut = () => {
    clearSession()
    setSession(undefined)
  }
  return (
    <>
      <header className="top">
        <a className="brand" href="#/keys">
          Keyward
        </a>
        <nav aria-label="Main">
          <a href="#/keys" aria-current={route.page !== 'key-stores' ? 'page' : undefined}>
            Keys
          </a>
          <a href="#/key-stores" aria-current={route.page === 'key-stores' ? 'page' : undefined}>
            Custom key stores
          </a>
        </nav>
        <div className="who">
          <label>
            Region
            <select
              value={session.region}
              onChange={(e) => {
                const s = { ...session, region: e.target.value }
                saveSession(s)
                setSession(s)
              }}
            >
              {(regions.includes(session.region) ? regions : [session.region, ...regions]).map(
                (r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ),
              )}
            </select>
          </label>
          <span className="access-key">
            {session.dev ? 'development mode' : session.accessKeyId}
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          {route.page === 'keys' && <KeysPage key={session.region} client={client} />}
          {route.page === 'key' && (
            <KeyDetail
              key={`${session.region}/${route.keyId}`}
              client={client}
              keyId={route.keyId}
            />
          )}
          {route.page === 'key-stores' && <KeyStoresPage key={session.region} client={client} />}
        </Suspense>
      </main>
    </>
  )
}
