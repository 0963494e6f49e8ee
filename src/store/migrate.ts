/** Numbered plain-SQL migrations (`migrations/NNNN_name.sql`), applied in order above `PRAGMA user_version`. */
import { readdirSync, readFileSync } from 'node:fs'
import type { Database } from 'better-sqlite3'

export const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url)

export interface Migration {
  version: number
  name: string
  sql: string
}

export function loadMigrations (dir: URL | string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .map((name) => ({ name, match: /^(\d{4})_[\w-]+\.sql$/.exec(name) }))
    .filter((f) => f.match !== null)
    .map((f) => ({ version: Number(f.match?.[1]), name: f.name, sql: readFileSync(new URL(f.name, dir), 'utf8') }))
    .sort((a, b) => a.version - b.version)
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} is out of sequence: expected number ${i + 1}`)
  })
  return migrations
}

export function schemaVersion (db: Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Applies every pending migration, each in its own transaction; returns the versions applied. */
export function migrate (db: Database, migrations: Migration[] = loadMigrations()): number[] {
  const current = schemaVersion(db)
  const latest = migrations.at(-1)?.version ?? 0
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this build knows (${latest}); run a newer version of the bridge`)
  }
  const applied: number[] = []
  for (const migration of migrations.filter((m) => m.version > current)) {
    db.transaction(() => {
      db.exec(migration.sql)
      db.pragma(`user_version = ${migration.version}`)
    }).immediate()
    applied.push(migration.version)
  }
  return applied
}
