import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OPENSSL } from './openssl.js'

/** A certificate with its private key, as PEM text and as files. */
export interface TestCertificate {
  readonly certPem: string
  readonly keyPem: string
  readonly certPath: string
  readonly keyPath: string
}

/**
 * A throwaway PKI made by one test file: a CA, a server certificate for `localhost` (and
 * 127.0.0.1) and a client certificate for mutual TLS, all signed by the CA. Another CA
 * (`otherCa`) signs nothing of ours, for the "untrusted certificate" cases.
 */
export interface TestPki {
  readonly dir: string
  readonly ca: TestCertificate
  readonly server: TestCertificate
  /** Subject CN `cks.kms.us-east-1.amazonaws.com`, what AWS KMS presents to an XKS proxy. */
  readonly client: TestCertificate
  /** A self-signed CA unrelated to `ca`. */
  readonly otherCa: TestCertificate
  /** Issues one more certificate from `ca` (e.g. for another host name, or an expired one). */
  issue(options: { commonName: string; dnsNames?: string[]; days?: number }): TestCertificate
  remove(): void
}

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

function readPair(dir: string, name: string): TestCertificate {
  const certPath = join(dir, `${name}.crt`)
  const keyPath = join(dir, `${name}.key`)
  return {
    certPem: readFileSync(certPath, 'utf8'),
    keyPem: readFileSync(keyPath, 'utf8'),
    certPath,
    keyPath,
  }
}

function selfSignedCa(dir: string, name: string): TestCertificate {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=Keyward test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  )
  return readPair(dir, name)
}

/**
 * Makes a CA with `openssl` (the command line, as an operator would) in a temporary directory.
 * EC P-256 keys keep it fast: the whole PKI takes a few tens of milliseconds.
 *
 * @example
 *   const pki = createTestPki()
 *   after(() => pki.remove())
 *   https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, handler)
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-pki-'))
  const ca = selfSignedCa(dir, 'ca')
  const otherCa = selfSignedCa(dir, 'other-ca')
  let serial = 0
  const issue = (options: { commonName: string; dnsNames?: string[]; days?: number }) => {
    const name = `cert${serial++}`
    const names = options.dnsNames ?? [options.commonName]
    const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')
    writeFileSync(
      join(dir, `${name}.ext`),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${san}`,
      ].join('\n'),
    )
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${options.commonName}`,
      ],
      dir,
    )
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        String(options.days ?? 2),
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    )
    return readPair(dir, name)
  }
  const server = issue({ commonName: 'localhost', dnsNames: ['localhost', '127.0.0.1'] })
  const client = issue({ commonName: 'cks.kms.us-east-1.amazonaws.com' })
  return {
    dir,
    ca,
    server,
    client,
    otherCa,
    issue,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
