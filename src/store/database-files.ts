/**
 * The files that make up the database: the file itself, the journals SQLite keeps beside it and the
 * service's lock. A command that writes or replaces files (`backup`, `restore`) must never take one
 * of them for another file, whatever path names it: through a symbolic link, a hard link, `..`.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { lockFilePath } from './service-lock.js'

/** What each file is, by the suffix SQLite (or the lock) gives it. */
export const DATABASE_SUFFIXES = ['', '-wal', '-shm', '-journal'] as const

/** Every file of the database at `databasePath`, named as the operator would know it. */
export function databaseFiles (databasePath: string): Array<{ file: string, what: string }> {
  const lock = lockFilePath(databasePath)
  return [
    ...DATABASE_SUFFIXES.map((suffix) => ({ file: databasePath + suffix, what: suffix === '' ? 'the database' : `the database's ${suffix} file` })),
    ...['', '-journal'].map((suffix) => ({ file: lock + suffix, what: `the service's lock${suffix === '' ? '' : ` (${suffix})`}` }))
  ]
}

/**
 * Where a path leads: the real path of what it names, or, for a file not there yet, the real path
 * of its folder and its name; a link to nothing leads where it points.
 */
function location (path: string, hops = 0): string {
  try {
    return realpathSync(path)
  } catch {}
  if (hops < 32 && lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true) {
    return location(resolve(dirname(path), readlinkSync(path)), hops + 1)
  }
  try {
    return join(realpathSync(dirname(path)), basename(path))
  } catch {
    return resolve(path)
  }
}

function sameFile (a: string, b: string): boolean {
  if (location(a) === location(b)) return true
  const sa = statSync(a, { throwIfNoEntry: false })
  const sb = statSync(b, { throwIfNoEntry: false })
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino
}

/**
 * Which file of the database `path` is, if it is one (the same real location, or the same file
 * on disk); undefined otherwise. The database's path may itself be a link: the files beside where
 * it leads count too.
 */
export function databaseFileAt (databasePath: string, path: string): { file: string, what: string } | undefined {
  const real = location(databasePath)
  const candidates = [...databaseFiles(databasePath), ...(real === resolve(databasePath) ? [] : databaseFiles(real))]
  return candidates.find((c) => sameFile(path, c.file))
}
