/**
 * Durable ingest through a writer thread. Deliveries parsed in one turn of the event loop go to
 * the writer as one batch; each caller's promise settles only after its transaction committed.
 */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { ClosedError } from './group-commit.js'
import type { Delivery, Outcome } from './inbox.js'
import type { WriterRequest, WriterResponse } from './writer-worker.js'

interface Pending {
  item: Delivery
  resolve: (value: Outcome) => void
  reject: (err: unknown) => void
}

export interface WriterOptions {
  /** Largest number of deliveries sent to the writer in one transaction. */
  maxBatch?: number
  onCommit?: (size: number, seconds: number) => void
}

const FROM_SOURCE = extname(fileURLToPath(import.meta.url)) === '.ts'

/** The compiled thread, or, when run from source (tests, tsx), a bootstrap that registers tsx first. */
function startWorker (workerData: { databasePath: string, role: 'write' | 'checkpoint' }): Worker {
  if (!FROM_SOURCE) return new Worker(new URL('./writer-worker.js', import.meta.url), { workerData })
  const entry = new URL('./writer-worker.ts', import.meta.url).href
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}

export class StoreError extends Error {
  constructor (message: string, override readonly name: string) {
    super(message)
  }
}

export class Writer {
  readonly #databasePath: string
  readonly #maxBatch: number
  readonly #onCommit: (size: number, seconds: number) => void
  #worker: Worker | undefined
  #checkpointer: Worker | undefined
  #queue: Pending[] = []
  /** Batches sent to the writer and not yet answered, by batch number. */
  #inFlight = new Map<number, Pending[]>()
  #batches = 0
  #scheduled = false
  #closed = false
  #drained: (() => void) | undefined

  constructor (databasePath: string, options: WriterOptions = {}) {
    this.#databasePath = databasePath
    this.#maxBatch = options.maxBatch ?? 512
    this.#onCommit = options.onCommit ?? (() => {})
  }

  /** Starts the writer thread now rather than on the first delivery, and the WAL checkpointer. */
  start (): void {
    this.#workerThread()
    this.#checkpointer ??= startWorker({ databasePath: this.#databasePath, role: 'checkpoint' })
  }

  submit (item: Delivery): Promise<Outcome> {
    if (this.#closed) return Promise.reject(new ClosedError('shutting down'))
    return new Promise<Outcome>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#schedule()
    })
  }

  /** Commits everything queued, then stops the writer thread. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#inFlight.size > 0 || this.#queue.length > 0) {
      await new Promise<void>((resolve) => { this.#drained = resolve })
    }
    const workers = [this.#worker, this.#checkpointer].filter((w) => w !== undefined)
    this.#worker = undefined
    this.#checkpointer = undefined
    await Promise.all(workers.map(async (worker) => {
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.postMessage('close')
      await exited
    }))
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    // After the I/O phase, so that deliveries parsed in the same turn share the transaction.
    setImmediate(() => {
      this.#scheduled = false
      this.#send()
    })
  }

  #send (): void {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch)
      const request: WriterRequest = { batch: ++this.#batches, items: batch.map((p) => p.item) }
      this.#inFlight.set(request.batch, batch)
      this.#workerThread().postMessage(request)
    }
    if (this.#inFlight.size === 0) this.#drained?.()
  }

  #workerThread (): Worker {
    if (this.#worker !== undefined) return this.#worker
    const worker = startWorker({ databasePath: this.#databasePath, role: 'write' })
    worker.on('message', (response: WriterResponse) => this.#settle(response))
    worker.on('error', (err) => this.#fail(worker, err))
    worker.on('exit', () => this.#fail(worker, new StoreError('the writer thread stopped', 'WriterExited')))
    this.#worker = worker
    return worker
  }

  #settle (response: WriterResponse): void {
    const batch = this.#inFlight.get(response.batch) ?? []
    this.#inFlight.delete(response.batch)
    for (const [size, seconds] of response.commits) this.#onCommit(size, seconds)
    response.results.forEach((result, i) => {
      const pending = batch[i]
      if (pending === undefined) return
      if ('outcome' in result) pending.resolve(result.outcome)
      else pending.reject(new StoreError(result.error, result.name))
    })
    this.#send()
  }

  /** The writer died (it could not open the database, or crashed): fail its batches, start afresh next time. */
  #fail (worker: Worker, err: Error): void {
    if (this.#worker !== worker) return
    this.#worker = undefined
    const batches = [...this.#inFlight.values()]
    this.#inFlight.clear()
    for (const pending of batches.flat()) pending.reject(err)
    this.#send()
  }
}
