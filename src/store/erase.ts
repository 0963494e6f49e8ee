/** Erasure (LGPD): one person's data removed everywhere; only the delivery ids stay, as tombstones. */
import { cpf as normaliseCpf, email as normaliseEmail } from '../mapping/formats.js'
import type { Database } from './sqlite.js'

export interface Erased {
  contacts: number
  deliveries: number
  records: number
}

/** `123.456.789-09` from `12345678909`: the way a CPF may be written inside a raw body. */
const punctuated = (cpf: string) => `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`

export function createEraser (db: Database) {
  const contactsOf = db.prepare<{ cpf: string | null, email: string | null }, { codigo: string }>(`
    SELECT codigo FROM contacts WHERE codigo IN (@cpf, @email)
    OR json_extract(fields, '$.cpf[0]') = @cpf OR json_extract(fields, '$.emailPrincipal[0]') = @email`)
  const deleteRecords = db.prepare<[string]>('DELETE FROM feed_items WHERE codigo = ?')
  const deleteLinks = [
    'DELETE FROM outbox WHERE codigo = ?',
    'DELETE FROM applications WHERE codigo = ?',
    'DELETE FROM delivered_contacts WHERE codigo = ?'
  ].map((sql) => db.prepare<[string]>(sql))
  const deleteContact = db.prepare<[string]>('DELETE FROM contacts WHERE codigo = ?')
  const blankDeliveries = db.prepare<[string]>('UPDATE deliveries SET payload = NULL, error = NULL, codigo = NULL WHERE codigo = ?')
  // Deliveries never linked to a contact (failed ones) are found in their raw bodies.
  const blankMentions = db.prepare<[string]>(`
    UPDATE deliveries SET payload = NULL, error = NULL, codigo = NULL WHERE payload IS NOT NULL AND instr(lower(payload), ?) > 0`)

  /**
   * Removes every contact, record, binding and raw body of the person with this CPF or e-mail.
   * Runs with secure_delete, then rebuilds the database (VACUUM) and truncates the WAL, so the
   * data is gone from the files too. Takes a few seconds per GB.
   */
  function erase (person: { cpf?: string, email?: string }): Erased {
    const cpf = person.cpf === undefined ? null : (normaliseCpf(person.cpf) ?? person.cpf.replace(/\D/g, ''))
    const email = person.email === undefined ? null : (normaliseEmail(person.email) ?? person.email.trim().toLowerCase())
    if ((cpf === null || cpf === '') && (email === null || email === '')) throw new RangeError('give a CPF or an e-mail')
    db.pragma('secure_delete = ON')
    const result = db.transaction((): Erased => {
      const erased: Erased = { contacts: 0, deliveries: 0, records: 0 }
      for (const { codigo } of contactsOf.all({ cpf, email })) {
        erased.records += deleteRecords.run(codigo).changes
        for (const statement of deleteLinks) statement.run(codigo)
        erased.deliveries += blankDeliveries.run(codigo).changes
        erased.contacts += deleteContact.run(codigo).changes
      }
      const needles = [email, cpf, cpf === null || cpf.length !== 11 ? null : punctuated(cpf)].filter((n) => n !== null && n !== '')
      for (const needle of needles) erased.deliveries += blankMentions.run(needle!.toLowerCase()).changes
      return erased
    })()
    // Index pages keep copies of deleted keys as dividers: only a rebuild removes them from the file.
    db.exec('VACUUM')
    db.pragma('wal_checkpoint(TRUNCATE)')
    return result
  }
  return { erase }
}
