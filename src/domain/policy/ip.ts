/**
 * IPv4 and IPv6 addresses and CIDR blocks for the IpAddress/NotIpAddress operators (IAM User
 * Guide, "IP address condition operators": RFC 4632 notation; a bare address is /32 or /128).
 * Addresses are held as bigints so both families share one comparison.
 */

/** A parsed CIDR block. */
export interface Cidr {
  readonly family: 4 | 6
  readonly base: bigint
  readonly prefix: number
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function parseV4(text: string): bigint | undefined {
  const m = IPV4.exec(text)
  if (!m) return undefined
  let out = 0n
  for (const part of m.slice(1)) {
    // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
    if (part.length > 1 && part.startsWith('0')) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    out = (out << 8n) | BigInt(n)
  }
  return out
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined
  let groups: string[]
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  // An embedded IPv4 address fills the last two groups (RFC 4291 §2.2, form 3).
  const last = (tail.length ? tail : head).at(-1)
  let v4: bigint | undefined
  if (last?.includes('.')) {
    v4 = parseV4(last)
    if (v4 === undefined) return undefined
    ;(tail.length ? tail : head).pop()
  }
  const needed = v4 === undefined ? 8 : 6
  if (halves.length === 2) {
    const fill = needed - head.length - tail.length
    if (fill < 1) return undefined
    groups = [...head, ...Array<string>(fill).fill('0'), ...tail]
  } else {
    groups = head
  }
  if (groups.length !== needed) return undefined
  let out = 0n
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    out = (out << 16n) | BigInt(parseInt(g, 16))
  }
  return v4 === undefined ? out : (out << 32n) | v4
}

/**
 * Parses an address (`192.0.2.1`, `2001:db8::1`) or CIDR block (`192.0.2.0/24`); undefined
 * when malformed.
 *
 * @example
 *   parseCidr('203.0.113.0/24') // { family: 4, base: 3405803776n, prefix: 24 }
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const v4 = parseV4(addr)
  const family = v4 !== undefined ? 4 : 6
  const value = v4 ?? parseV6(addr)
  if (value === undefined) return undefined
  const bits = family === 4 ? 32 : 128
  let prefix = bits
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return undefined
    prefix = Number(p)
  }
  const shift = BigInt(bits - prefix)
  return { family, base: (value >> shift) << shift, prefix }
}

/**
 * True when the address `ip` lies inside `cidr`. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
 * is compared as its IPv4 address, since that is the client a dual-stack socket reports.
 *
 * @example
 *   cidrContains(parseCidr('10.0.0.0/8')!, '10.1.2.3') // true
 */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  let addr = parseCidr(ip)
  if (!addr || addr.prefix !== (addr.family === 4 ? 32 : 128)) return false
  if (addr.family === 6 && addr.base >> 32n === 0xffffn) {
    addr = { family: 4, base: addr.base & 0xffffffffn, prefix: 32 }
  }
  if (addr.family !== cidr.family) return false
  const shift = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix)
  return addr.base >> shift === cidr.base >> shift
}
