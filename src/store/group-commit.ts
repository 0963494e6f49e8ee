/**
 * Group commit: deliveries that arrive together share one SQLite transaction (one fsync), and
 * each caller's promise settles only after that transaction has committed.
 */
import type { Database, Transaction } from 'better-sqlite3'

interface Pending<I, O> {
  item: I
  resolve: (value: O) => void
  reject: (err: unknown) => void
}

export interface GroupCommitOptions {
  /** Largest number of items in one transaction, to bound the time the event loop is blocked. */
  maxBatch?: number
}

export type CommitListener = (size: number, seconds: number) => void

/** Turns of the event loop a batch may wait for more items, as long as each turn brings some. */
const MAX_TURNS = 3

export class ClosedError extends Error {
  override name = 'ClosedError'
}

export class GroupCommit<I, O> {
  /** One transaction function for every batch (better-sqlite3 builds its wrappers once). */
  readonly #applyAll: Transaction<(batch: Array<Pending<I, O>>) => O[]>
  readonly #maxBatch: number
  readonly #listeners: CommitListener[] = []
  #queue: Array<Pending<I, O>> = []
  #scheduled = false
  #closed = false

  /** `apply` runs inside the shared transaction, synchronously, once per item. */
  constructor (db: Database, apply: (item: I) => O, options: GroupCommitOptions = {}) {
    this.#applyAll = db.transaction((batch: Array<Pending<I, O>>) => batch.map((p) => apply(p.item)))
    this.#maxBatch = options.maxBatch ?? 512
  }

  /** Calls `listener` after every committed transaction, with its size and duration. */
  onCommit (listener: CommitListener): void {
    this.#listeners.push(listener)
  }

  submit (item: I): Promise<O> {
    if (this.#closed) return Promise.reject(new ClosedError('shutting down'))
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        this.#commitWhenQuiet(this.#queue.length, MAX_TURNS)
      }
    })
  }

  /**
   * Commits after the I/O phase, so that every request parsed in this turn of the loop joins the
   * batch. While each turn brings more items (others are sending too), waits up to `turns` turns:
   * one fsync then answers more of them. A lone item is committed in its first turn.
   */
  #commitWhenQuiet (seen: number, turns: number): void {
    setImmediate(() => {
      const size = this.#queue.length
      if (this.#scheduled && turns > 1 && size > seen && size < this.#maxBatch) this.#commitWhenQuiet(size, turns - 1)
      else this.flush()
    })
  }

  /** Commits everything queued so far. Safe to call at any time; synchronous. */
  flush (): void {
    this.#scheduled = false
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch)
      this.#commit(batch)
    }
  }

  /** Commits what is queued, then refuses new items. */
  close (): void {
    this.flush()
    this.#closed = true
  }

  #commit (batch: Array<Pending<I, O>>): void {
    const started = process.hrtime.bigint()
    let results: O[]
    try {
      results = this.#applyAll.immediate(batch)
    } catch (err) {
      // One bad item must not fail its neighbours: retry them one by one.
      if (batch.length > 1) {
        for (const p of batch) this.#commit([p])
      } else {
        batch[0]?.reject(err)
      }
      return
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    for (const listener of this.#listeners) listener(batch.length, seconds)
    batch.forEach((p, i) => p.resolve(results[i] as O))
  }
}
