import { readFileSync } from 'node:fs'

/** Keyward's version, from its package.json (dist/src/xks-proxy/ is three levels below). */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

/** The proxy's version as health answers and `GET /ping` report it. */
export const PROXY_VERSION = packageVersion()
/** xksProxyVendor. */
export const PROXY_VENDOR = 'Keyward'
/** xksProxyModel: product name and version, as the spec asks. */
export const PROXY_MODEL = `Keyward XKS Proxy ${PROXY_VERSION}`
