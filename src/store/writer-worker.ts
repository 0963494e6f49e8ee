/**
 * The inbox writer thread: owns the write connection, so the fsync of `synchronous=FULL` never
 * blocks the HTTP thread. Batches that arrive while a transaction commits are merged into the
 * next one (group commit); each batch is answered once its items are committed.
 */
import { parentPort, workerData } from 'node:worker_threads'
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

const { databasePath } = workerData as { databasePath: string }
const db = openDatabase(databasePath)
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
