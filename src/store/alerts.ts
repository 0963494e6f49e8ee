/** What the alerts have seen and said, per finding (the verdict's code, with its feed): it outlives a restart. */
import type { Database } from './sqlite.js'

export interface AlertFinding {
  finding: string
  /** When a check first found it; it has been present at every check since. */
  firstSeen: number
  /** When a message last said it (announced or repeated); undefined: not said yet. */
  announcedAt: number | undefined
  /** The words said, for the message when it clears. */
  said: string | undefined
}

export function createAlertState (db: Database) {
  const all = db.prepare<[], { finding: string, first_seen: number, announced_at: number | null, said: string | null }>(
    'SELECT finding, first_seen, announced_at, said FROM alert_findings')
  const seen = db.prepare<[string, number]>('INSERT INTO alert_findings (finding, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING')
  const announced = db.prepare<[number, string, string]>('UPDATE alert_findings SET announced_at = ?, said = ? WHERE finding = ?')
  const forget = db.prepare<[string]>('DELETE FROM alert_findings WHERE finding = ?')

  return {
    all: (): AlertFinding[] => all.all().map((r) => ({
      finding: r.finding, firstSeen: r.first_seen, announcedAt: r.announced_at ?? undefined, said: r.said ?? undefined
    })),
    /** Notes findings found for the first time and forgets those gone; in one transaction. */
    update: db.transaction((found: readonly string[], gone: readonly string[], now: number) => {
      for (const finding of found) seen.run(finding, now)
      for (const finding of gone) forget.run(finding)
    }),
    /** Findings a message said (announced or repeated) and findings it said cleared; in one transaction. */
    said: db.transaction((announcedNow: ReadonlyArray<{ finding: string, said: string }>, cleared: readonly string[], now: number) => {
      for (const a of announcedNow) announced.run(now, a.said, a.finding)
      for (const finding of cleared) forget.run(finding)
    })
  }
}

export type AlertState = ReturnType<typeof createAlertState>
