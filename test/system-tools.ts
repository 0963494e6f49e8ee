/** What some tests need of the system: its programs (Debian's chromium, caddy), and small file systems of their own. */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'

/**
 * The program's path, or, when it is missing: a reason to skip if this machine has no apt-get to
 * install it with, else an error saying how to install it (`bash .ci/run` does).
 */
export function systemProgram (name: string, paths: string[], debianPackage: string): { path: string } | { skip: string } {
  const found = paths.find((p) => existsSync(p))
  if (found !== undefined) return { path: found }
  if (spawnSync('apt-get', ['--version']).error !== undefined) {
    return { skip: `${name} is not installed and this machine has no apt-get to install the ${debianPackage} package` }
  }
  throw new Error(`${name} is not installed: run \`apt-get install -y ${debianPackage}\` (bash .ci/run does it)`)
}

/**
 * A fresh tmpfs mounted with `options` (`size=16m`, `ro,size=1m`), unmounted and removed after the
 * test; undefined where this process may not mount one (not root).
 */
export function tmpfs (t: TestContext, options: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    rmSync(dir, { recursive: true, force: true })
    return undefined
  }
  t.after(() => {
    execFileSync('umount', ['-l', dir])
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}
