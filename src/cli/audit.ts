import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const USAGE = `Usage: keyward audit <verify|search> [options]

The audit trail 'keyward serve' writes: one CloudTrail record per KMS call (refusals and
authentication failures included) and per service event, in JSON-lines files chained by SHA-256,
with digests signed by <data-dir>/audit-signing.key (Ed25519).

  verify [--from <time>] [--to <time>]
      Follows the chain of every stream and checks every digest's signature and hashes; names
      the first line or file that was changed, removed, inserted or reordered. Exit status 1
      when one was found.
  search [--key <id|arn|alias>] [--principal <arn|access key|user>] [--since <time>]
         [--until <time>] [--event-name <operation>]
      Prints the matching events, oldest first.

Options:
  --data-dir <dir>     The server's data directory (KEYWARD_DATA_DIR; default ~/.keyward)
  --audit-dir <dir>    The trail, if not <data-dir>/audit (KEYWARD_AUDIT_DIR)
  --public-key <file>  Verify with this public key (PEM) instead of the data directory's key
  --json               Machine-readable output
  -h, --help           Show this help

Times are ISO 8601 (2026-12-06T01:00:00Z) or a date (2026-12-06).
`

/** An ISO 8601 time or date as epoch milliseconds; refuses anything else. */
function parseTime(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)
    ? Date.parse(text)
    : NaN
  if (Number.isNaN(ms))
    throw new Error(`invalid ${name}: ${text} (ISO 8601, e.g. 2026-12-06T01:00:00Z)`)
  return ms
}

/**
 * `keyward audit verify|search`.
 *
 * @example
 *   await auditCommand(['verify', '--data-dir', '/root/.keyward'], process.env)
 */
export async function auditCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'verify' && sub !== 'search') {
    const help = sub === undefined || sub === '-h' || sub === '--help'
    ;(help ? process.stdout : process.stderr).write(
      help ? USAGE : `keyward audit: unknown subcommand '${sub}'\n\n${USAGE}`,
    )
    return help && sub !== undefined ? 0 : 1
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      'data-dir': { type: 'string' },
      'audit-dir': { type: 'string' },
      'public-key': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      key: { type: 'string' },
      principal: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'event-name': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const dataDir = values['data-dir'] ?? env.KEYWARD_DATA_DIR ?? join(homedir(), '.keyward')
  const { auditDirOf, signingKeyPath } = await import('../adapters/audit-file/open.js')
  const auditDir = auditDirOf(dataDir, values['audit-dir'] ?? (env.KEYWARD_AUDIT_DIR || undefined))
  if (!existsSync(auditDir)) throw new Error(`There is no audit trail at ${auditDir}.`)
  if (sub === 'verify') {
    const keyFile = values['public-key'] ?? signingKeyPath(dataDir)
    if (!existsSync(keyFile)) {
      throw new Error(`There is no audit signing key at ${keyFile} (--public-key, or --data-dir).`)
    }
    return verify(auditDir, {
      keyFile,
      from: parseTime('--from', values.from),
      to: parseTime('--to', values.to),
      json: values.json === true,
    })
  }
  return search(auditDir, {
    key: values.key,
    principal: values.principal,
    since: parseTime('--since', values.since),
    until: parseTime('--until', values.until),
    eventName: values['event-name'],
    json: values.json === true,
  })
}

async function verify(
  auditDir: string,
  options: { keyFile: string; from?: number | undefined; to?: number | undefined; json: boolean },
): Promise<number> {
  const { verifyAuditDir } = await import('../adapters/audit-file/verify.js')
  const { readPublicKey } = await import('../adapters/audit-file/format.js')
  const report = verifyAuditDir(auditDir, {
    publicKey: readPublicKey(options.keyFile),
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
  })
  if (options.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
  } else {
    for (const s of report.streams) {
      const summary = `${s.files} file(s), ${s.lines} line(s), ${s.digests} digest(s)`
      if (s.problems.length === 0) {
        const tail =
          s.undigested.length > 0 ? `; not yet in a digest: ${s.undigested.join(', ')}` : ''
        process.stdout.write(`stream ${s.stream}: intact (${summary}${tail})\n`)
      } else {
        process.stdout.write(`stream ${s.stream}: FAILED (${summary})\n`)
        for (const p of s.problems) process.stdout.write(`  ${p.kind}: ${p.message}\n`)
      }
    }
    if (report.streams.length === 0) process.stdout.write(`no audit streams in ${auditDir}\n`)
  }
  return report.ok ? 0 : 1
}

interface Found {
  eventTime?: string
  eventName?: string
  errorCode?: string
  sourceIPAddress?: string
  userIdentity?: {
    arn?: string
    accessKeyId?: string
    principalId?: string
    userName?: string
    type?: string
  }
  resources?: Array<{ ARN?: string }>
  requestParameters?: Record<string, unknown> | null
}

/** Whether a record concerns the key `key`: an ID, a key ARN, or an alias the caller named. */
function concernsKey(record: Found, key: string): boolean {
  const named = Object.values(record.requestParameters ?? {}).filter((v) => typeof v === 'string')
  return (
    (record.resources ?? []).some((r) => r.ARN === key || r.ARN?.endsWith(`:key/${key}`)) ||
    named.includes(key)
  )
}

function concernsPrincipal(record: Found, principal: string): boolean {
  const who = record.userIdentity ?? {}
  return [who.arn, who.accessKeyId, who.principalId, who.userName].includes(principal)
}

async function search(
  auditDir: string,
  filter: {
    key?: string | undefined
    principal?: string | undefined
    since?: number | undefined
    until?: number | undefined
    eventName?: string | undefined
    json: boolean
  },
): Promise<number> {
  const { searchAuditDir } = await import('../adapters/audit-file/verify.js')
  const records = searchAuditDir(auditDir, (r) => {
    const record = r as Found
    const time = Date.parse(record.eventTime ?? '')
    return (
      (filter.key === undefined || concernsKey(record, filter.key)) &&
      (filter.principal === undefined || concernsPrincipal(record, filter.principal)) &&
      (filter.since === undefined || time >= filter.since) &&
      (filter.until === undefined || time <= filter.until) &&
      (filter.eventName === undefined || record.eventName === filter.eventName)
    )
  })
  if (filter.json) {
    // The shape of a CloudTrail log file.
    process.stdout.write(JSON.stringify({ Records: records }, null, 2) + '\n')
    return 0
  }
  for (const r of records as Found[]) {
    const who = r.userIdentity?.arn ?? r.userIdentity?.accessKeyId ?? r.userIdentity?.type ?? '-'
    const keys = (r.resources ?? []).map((x) => x.ARN).join(',') || '-'
    process.stdout.write(
      `${r.eventTime} ${r.eventName} ${r.errorCode ?? 'OK'} ${who} ${r.sourceIPAddress || '-'} ${keys}\n`,
    )
  }
  return 0
}
