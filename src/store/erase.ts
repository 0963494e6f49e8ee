/** Erasure (LGPD): one person's data removed everywhere; only the delivery ids stay, as tombstones. */
import { setTimeout as sleep } from 'node:timers/promises'
import { cpf as normaliseCpf, email as normaliseEmail } from '../vocabulary/formats.js'
import type { Database } from './sqlite.js'
import { CHECKPOINT_ATTEMPTS, CHECKPOINT_RETRY_MS } from './contention.js'

export interface Erased {
  contacts: number
  deliveries: number
  records: number
}

/** `123.456.789-09` from `12345678909`: the way a CPF may be written inside a raw body. */
const punctuated = (cpf: string) => `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`

/** Rows changed per transaction: the write lock is held a few milliseconds at a time. */
const CHUNK = 500

export function createEraser (db: Database) {
  const contactsOf = db.prepare<{ cpf: string | null, email: string | null }, string>(`
    SELECT codigo FROM contacts WHERE codigo IN (@cpf, @email)
    OR json_extract(fields, '$.cpf[0]') = @cpf OR json_extract(fields, '$.emailPrincipal[0]') = @email`).pluck()
  const lastSeq = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM deliveries').pluck()
  // Read without the write lock (a snapshot): every raw body that mentions the person, by seq.
  const mentions = db.prepare<[number, string], number>(
    'SELECT seq FROM deliveries WHERE seq > ? AND payload IS NOT NULL AND instr(lower(payload), ?) > 0').pluck()
  const blank = db.prepare<[number]>('UPDATE deliveries SET payload = NULL, error = NULL, codigo = NULL WHERE seq = ? AND payload IS NOT NULL')
  const blankAll = db.transaction((seqs: number[]) => seqs.reduce((n, seq) => n + blank.run(seq).changes, 0))
  const deleteRecords = db.prepare<[string]>('DELETE FROM feed_items WHERE codigo = ?')
  const deleteLinks = [
    'DELETE FROM outbox WHERE codigo = ?',
    'DELETE FROM applications WHERE codigo = ?',
    'DELETE FROM delivered_contacts WHERE codigo = ?',
    'DELETE FROM push_items WHERE codigo = ?',
    'DELETE FROM rubeus_contacts WHERE codigo = ?'
  ].map((sql) => db.prepare<[string]>(sql))
  const linkedBodies = db.prepare<[string], number>('SELECT count(*) FROM deliveries WHERE codigo = ? AND payload IS NOT NULL').pluck()
  const unlinkDeliveries = db.prepare<[string]>('UPDATE deliveries SET payload = NULL, error = NULL, codigo = NULL WHERE codigo = ?')
  const deleteContact = db.prepare<[string]>('DELETE FROM contacts WHERE codigo = ?')
  const eraseContact = db.transaction((codigo: string): Erased => {
    const records = deleteRecords.run(codigo).changes
    for (const statement of deleteLinks) statement.run(codigo)
    const deliveries = linkedBodies.get(codigo) ?? 0
    unlinkDeliveries.run(codigo)
    return { contacts: deleteContact.run(codigo).changes, deliveries, records }
  })

  /** Blanks every raw body after `after` that mentions one of the needles; returns how many and the last seq looked at. */
  async function blankMentions (needles: string[], after: number, pause: () => Promise<void>): Promise<{ blanked: number, through: number }> {
    const through = lastSeq.get() ?? 0
    const seqs = [...new Set(needles.flatMap((needle) => mentions.all(after, needle)))].filter((seq) => seq <= through).sort((a, b) => a - b)
    let blanked = 0
    for (let i = 0; i < seqs.length; i += CHUNK) {
      blanked += blankAll.immediate(seqs.slice(i, i + CHUNK))
      await pause()
    }
    return { blanked, through }
  }

  /**
   * Removes every contact, record, binding and raw body of the person with this CPF or e-mail, in
   * short transactions beside a running service. With secure_delete (set on every connection) the
   * removed content is overwritten in the database file; the WAL is then checkpointed and truncated
   * so that no older copy of a page is left in it.
   */
  async function erase (person: { cpf?: string, email?: string }, progress: (line: string) => void = () => {}, pause = () => new Promise<void>(setImmediate)): Promise<Erased> {
    const cpf = person.cpf === undefined ? null : (normaliseCpf(person.cpf) ?? person.cpf.replace(/\D/g, ''))
    const email = person.email === undefined ? null : (normaliseEmail(person.email) ?? person.email.trim().toLowerCase())
    if ((cpf === null || cpf === '') && (email === null || email === '')) throw new RangeError('give a CPF or an e-mail')
    const needles = [email, cpf, cpf === null || cpf.length !== 11 ? null : punctuated(cpf)]
      .filter((n): n is string => n !== null && n !== '').map((n) => n.toLowerCase())
    const erased: Erased = { contacts: 0, deliveries: 0, records: 0 }

    // Raw bodies first: once they are gone, nothing can map the person again.
    const first = await blankMentions(needles, 0, pause)
    const late = await blankMentions(needles, first.through, pause) // deliveries stored during the first pass
    erased.deliveries += first.blanked + late.blanked
    progress(`  raw bodies blanked: ${erased.deliveries}\n`)
    for (const codigo of contactsOf.all({ cpf, email })) {
      const one = eraseContact.immediate(codigo)
      erased.contacts += one.contacts
      erased.records += one.records
      erased.deliveries += one.deliveries
      await pause()
    }
    await truncateWal(progress)
    return erased
  }

  /** Checkpoints the whole WAL into the database and truncates it; retried while readers or writers are busy. */
  async function truncateWal (progress: (line: string) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
      if (result?.busy === 0) return
      if (attempt === CHECKPOINT_ATTEMPTS) throw new Error('the WAL could not be checkpointed: a reader held it for too long; run erase again')
      if (attempt === 1) progress('  waiting for readers to let the WAL be checkpointed…\n')
      await sleep(CHECKPOINT_RETRY_MS)
    }
  }

  return { erase }
}
