/**
 * The inbox writer thread: owns the write connection, so the fsync of `synchronous=FULL` never
 * blocks the HTTP thread. Batches that arrive while a transaction commits are merged into the
 * next one (group commit); each batch is answered once its items are committed.
 *
 * Started with `role: 'checkpoint'`, the same file runs the WAL checkpointer instead: copying the
 * WAL into the database on its own connection keeps that work (and its fsyncs) out of commits.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { openDatabase } from './database.js'
import { GroupCommit } from './group-commit.js'
import { createInbox, type Delivery, type Outcome } from './inbox.js'

export interface WriterRequest {
  batch: number
  items: Delivery[]
}

export type ItemResult = { outcome: Outcome } | { error: string, name: string }

export interface WriterResponse {
  batch: number
  results: ItemResult[]
  /** Size and duration of each committed transaction. */
  commits: Array<[size: number, seconds: number]>
}

const port = parentPort
if (port === null) throw new Error('writer-worker must run in a worker thread')

const { databasePath, role } = workerData as { databasePath: string, role: 'write' | 'checkpoint' }
const db = openDatabase(databasePath)

/** How often the checkpointer copies committed WAL frames into the database file. */
const CHECKPOINT_INTERVAL_MS = 250
/** Safety net should the checkpointer stop: the writer checkpoints itself past this many pages. */
const WRITER_AUTOCHECKPOINT_PAGES = 20_000

if (role === 'checkpoint') {
  // PASSIVE never waits for the writer or blocks it.
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)')
    } catch {} // busy or I/O trouble: the next round tries again, the writer's safety net remains
  }, CHECKPOINT_INTERVAL_MS)
  port.on('message', () => {
    clearInterval(timer)
    db.close()
    port.close()
  })
} else {
  db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`)
  serveWrites(port)
}

function serveWrites (port: MessagePort): void {
  const inbox = createInbox(db)
  let commits: Array<[number, number]> = []
  const group = new GroupCommit(db, (d: Delivery) => inbox.record(d).outcome, {
    onCommit: (size, seconds) => commits.push([size, seconds])
  })

  port.on('message', async (request: WriterRequest | 'close') => {
    if (request === 'close') {
      group.close()
      db.close()
      port.close()
      return
    }
    const pending = request.items.map((item) => group.submit(item))
    const settled = await Promise.allSettled(pending)
    const results = settled.map((s): ItemResult => s.status === 'fulfilled'
      ? { outcome: s.value }
      : { error: s.reason instanceof Error ? s.reason.message : String(s.reason), name: s.reason instanceof Error ? s.reason.name : 'Error' })
    const response: WriterResponse = { batch: request.batch, results, commits }
    commits = []
    port.postMessage(response)
  })
}
