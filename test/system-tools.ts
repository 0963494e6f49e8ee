/** Finding the system programs some tests drive (Debian's chromium, caddy): skip only when they cannot be had. */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

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
