import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Debian's SoftHSMv2 module (package softhsm2). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so'

let started = false

/** A SoftHSM token directory of one test process. */
export interface SoftHsm {
  readonly modulePath: string
  readonly dir: string
  /** Initializes a new token; returns its serial number. */
  initToken(options: { label: string; pin: string; soPin?: string }): string
  /** Deletes every token file of the directory and recreates it empty. */
  cleanup(): void
}

/**
 * Why the SoftHSM tests cannot run here, or undefined when they can: pass it as the `skip`
 * option of their `describe`. Tests never install system packages themselves: `npm test`
 * runs scripts/system-deps.mjs first, which installs softhsm2 as root and otherwise prints
 * the command (two test files installing packages at once fail on the dpkg lock).
 *
 * @example
 *   describe('Pkcs11Token (SoftHSMv2)', { skip: SOFTHSM_MISSING }, () => { … })
 */
export const SOFTHSM_MISSING: string | undefined = existsSync(SOFTHSM_MODULE)
  ? undefined
  : `SoftHSMv2 is not installed (${SOFTHSM_MODULE}); install the softhsm2 package (node scripts/system-deps.mjs does, as root)`

/**
 * Points this process's SoftHSM at a fresh token directory in a temporary folder (through
 * SOFTHSM2_CONF, which the module reads at C_Initialize), so that tests never touch the system
 * token directory. Each test file runs in its own process, so each gets its own tokens; call
 * it once per file, and create every token before the first connection (SoftHSM lists the
 * tokens that exist at C_Initialize).
 *
 * @example
 *   const hsm = startSoftHsm()
 *   const serial = hsm.initToken({ label: 'keyward-test', pin: '1234567' })
 *   after(() => hsm.cleanup())
 */
export function startSoftHsm(): SoftHsm {
  // The module reads SOFTHSM2_CONF once, at its first C_Initialize in the process: a second
  // directory would be silently ignored.
  if (started) throw new Error('startSoftHsm: one SoftHSM token directory per test process')
  started = true
  if (SOFTHSM_MISSING !== undefined) throw new Error(SOFTHSM_MISSING)
  const dir = mkdtempSync(join(tmpdir(), 'keyward-softhsm-'))
  const tokens = join(dir, 'tokens')
  mkdirSync(tokens)
  const conf = join(dir, 'softhsm2.conf')
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  )
  process.env.SOFTHSM2_CONF = conf
  return {
    modulePath: SOFTHSM_MODULE,
    dir,
    initToken({ label, pin, soPin = '87654321' }) {
      const out = execFileSync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin],
        { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8' },
      )
      const shown = execFileSync('softhsm2-util', ['--show-slots'], {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        encoding: 'utf8',
      })
      const serial = serialOf(shown, label)
      if (!out.includes('initialized') || serial === undefined) {
        throw new Error(`softhsm2-util did not initialize token ${label}`)
      }
      return serial
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The serial number softhsm2-util --show-slots prints for the token labelled `label`. */
function serialOf(shown: string, label: string): string | undefined {
  for (const block of shown.split(/\n(?=Slot )/)) {
    if (new RegExp(`Label:\\s+${label}\\s*$`, 'm').test(block)) {
      return /Serial number:\s+(\S+)/.exec(block)?.[1]
    }
  }
  return undefined
}
