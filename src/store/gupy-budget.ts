/**
 * The one budget of requests to Gupy's API that every process on this database shares: a single
 * row holding when the next request may start and until when a 429 paused everyone. Each request
 * takes its slot in a tiny write transaction; a process that dies mid-request loses at most its slot.
 */
import { existsSync } from 'node:fs'
import { openDatabase } from './database.js'
import { loadMigrations, schemaVersion } from './migrate.js'
import { COMMAND_BUSY_MS, whenFree } from './contention.js'
import type { Database } from './sqlite.js'

/** The pause in force after a 429, or the last one. */
export interface BudgetPause {
  until: number
  reason: string
}

export interface BudgetState {
  nextSlot: number
  pausedUntil: number
  pauseReason: string | undefined
  lastPauseAt: number | undefined
  pauses: number
}

export function createGupyBudget (db: Database) {
  const read = db.prepare<[], { next_slot: number, paused_until: number, pause_reason: string | null, last_pause_at: number | null, pauses: number }>(
    'SELECT next_slot, paused_until, pause_reason, last_pause_at, pauses FROM gupy_budget WHERE id = 1')
  const setNext = db.prepare<[number]>('UPDATE gupy_budget SET next_slot = ? WHERE id = 1')
  const pause = db.prepare<{ until: number, reason: string, now: number }>(`
    UPDATE gupy_budget SET
      pause_reason = CASE WHEN @until >= paused_until THEN @reason ELSE pause_reason END,
      paused_until = max(paused_until, @until),
      last_pause_at = @now,
      pauses = pauses + 1
    WHERE id = 1`)
  const take = db.transaction((now: number, spacingMs: number): number => {
    const row = read.get()!
    const at = Math.max(now, row.next_slot, row.paused_until)
    setNext.run(at + spacingMs)
    return at
  })

  return {
    /**
     * Takes the next free slot: no earlier than `now`, `spacingMs` after the slot any process took
     * last, and not before a pause ends. Returns when the request may start.
     */
    take: (now: number, spacingMs: number): number => take.immediate(now, spacingMs),
    /** A 429: no process starts a request before `until` (a later pause already set stands). */
    pause: (until: number, reason: string, now: number): void => { pause.run({ until, reason, now }) },
    /** The pause in force at `now`, if any. */
    paused (now: number): BudgetPause | undefined {
      const row = read.get()!
      return row.paused_until > now ? { until: row.paused_until, reason: row.pause_reason ?? '429' } : undefined
    },
    state (): BudgetState {
      const row = read.get()!
      return { nextSlot: row.next_slot, pausedUntil: row.paused_until, pauseReason: row.pause_reason ?? undefined, lastPauseAt: row.last_pause_at ?? undefined, pauses: row.pauses }
    }
  }
}

export type GupyBudget = ReturnType<typeof createGupyBudget>

/** The budget's state for a report, on any connection (read-only too); undefined before its migration. */
export function readBudget (db: Database): BudgetState | undefined {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gupy_budget'").pluck().get()
  return exists === undefined ? undefined : createGupyBudget(db).state()
}

/**
 * The budget as Gupy's API client takes its slots from it: each step waits for a lock another
 * connection holds off the event loop (whenFree), never long on it. A slot is taken at the time
 * the lock was had (`clock`), not when it was first asked for.
 */
export function sharedBudget (db: Database, clock: () => number = Date.now) {
  const budget = createGupyBudget(db)
  return {
    take: async (_asked: number, spacingMs: number) => await whenFree(() => budget.take(clock(), spacingMs)),
    pause: async (until: number, reason: string, now: number) => { await whenFree(() => budget.pause(until, reason, now)) },
    paused: async (now: number) => await whenFree(() => budget.paused(now))
  }
}

/**
 * The shared budget for a command that otherwise only reads the database (check-webhooks): its own
 * connection, which writes nothing but its slots. Undefined when there is no database yet, or its
 * schema is not this build's (a check never migrates): the command then paces alone.
 */
export function openSharedBudget (file: string): { budget: ReturnType<typeof sharedBudget>, close: () => void } | undefined {
  if (!existsSync(file)) return undefined
  let current = false
  try {
    const probe = openDatabase(file, { readonly: true })
    try {
      current = schemaVersion(probe) === loadMigrations().at(-1)?.version && readBudget(probe) !== undefined
    } finally {
      probe.close()
    }
  } catch {
    return undefined // unreadable or damaged: the command says so where it reads the database
  }
  if (!current) return undefined
  const db = openDatabase(file, { mustExist: true, busyTimeoutMs: COMMAND_BUSY_MS })
  return { budget: sharedBudget(db), close: () => db.close() }
}
