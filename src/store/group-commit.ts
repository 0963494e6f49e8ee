/**
 * Group commit: deliveries that arrive together share one SQLite transaction (one fsync), and
 * each caller's promise settles only after that transaction has committed.
 */
import type { Database, Transaction } from 'better-sqlite3'
import { INGEST_MAX_WAIT_MS, INGEST_RETRY_MS } from './contention.js'
import { isBusy, isStorageError } from './sqlite.js'

interface Pending<I, O> {
  item: I
  /** When it was submitted (epoch ms): how long it may still wait for a lock. */
  since: number
  resolve: (value: O) => void
  reject: (err: unknown) => void
}

export interface GroupCommitOptions {
  /** Largest number of items in one transaction, to bound the time the event loop is blocked. */
  maxBatch?: number
  /** How long an item may wait for a write lock another connection holds (default INGEST_MAX_WAIT_MS). */
  maxWaitMs?: number
  /** Pause between two attempts while the lock is held elsewhere (default INGEST_RETRY_MS). */
  retryMs?: number
}

export type CommitListener = (size: number, seconds: number) => void
export type FailureListener = (err: unknown) => void

/** Turns of the event loop a batch may wait for more items, as long as each turn brings some. */
const MAX_TURNS = 3

export class ClosedError extends Error {
  override name = 'ClosedError'
}

export class GroupCommit<I, O> {
  /** One transaction function for every batch (better-sqlite3 builds its wrappers once). */
  readonly #applyAll: Transaction<(batch: Array<Pending<I, O>>) => O[]>
  readonly #maxBatch: number
  readonly #maxWaitMs: number
  readonly #retryMs: number
  readonly #listeners: CommitListener[] = []
  readonly #failureListeners: FailureListener[] = []
  #queue: Array<Pending<I, O>> = []
  #scheduled = false
  #closed = false
  /** Set while another connection holds the write lock: the next attempt, after a pause. */
  #retry: NodeJS.Timeout | undefined

  /** `apply` runs inside the shared transaction, synchronously, once per item. */
  constructor (db: Database, apply: (item: I) => O, options: GroupCommitOptions = {}) {
    this.#applyAll = db.transaction((batch: Array<Pending<I, O>>) => batch.map((p) => apply(p.item)))
    this.#maxBatch = options.maxBatch ?? 512
    this.#maxWaitMs = options.maxWaitMs ?? INGEST_MAX_WAIT_MS
    this.#retryMs = options.retryMs ?? INGEST_RETRY_MS
  }

  /** Calls `listener` after every committed transaction, with its size and duration. */
  onCommit (listener: CommitListener): void {
    this.#listeners.push(listener)
  }

  /** Calls `listener` with every storage error a commit met (full disk, lock held elsewhere…). */
  onFailure (listener: FailureListener): void {
    this.#failureListeners.push(listener)
  }

  submit (item: I): Promise<O> {
    if (this.#closed) return Promise.reject(new ClosedError('shutting down'))
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, since: Date.now(), resolve, reject })
      if (!this.#scheduled && this.#retry === undefined) {
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

  /** Commits everything queued so far (unless the lock is held elsewhere: then later). Synchronous. */
  flush (): void {
    this.#scheduled = false
    while (this.#queue.length > 0 && this.#retry === undefined) {
      const batch = this.#queue.splice(0, this.#maxBatch)
      this.#commit(batch)
    }
  }

  /** Commits what is queued, then refuses new items; what still waits for a lock is refused too. */
  close (): void {
    clearTimeout(this.#retry)
    this.#retry = undefined
    this.flush()
    this.#closed = true
    for (const p of this.#queue.splice(0)) p.reject(new ClosedError('shutting down'))
  }

  #commit (batch: Array<Pending<I, O>>): void {
    const started = process.hrtime.bigint()
    let results: O[]
    try {
      results = this.#applyAll.immediate(batch)
    } catch (err) {
      if (isBusy(err)) return this.#waitForLock(batch, err)
      if (isStorageError(err) || batch.length === 1) {
        // The disk, not an item: the whole batch fails at once.
        if (isStorageError(err)) for (const listener of this.#failureListeners) listener(err)
        for (const p of batch) p.reject(err)
        return
      }
      // An error of one item must not fail its neighbours: retry them one by one.
      for (const p of batch) this.#commit([p])
      return
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    for (const listener of this.#listeners) listener(batch.length, seconds)
    batch.forEach((p, i) => p.resolve(results[i] as O))
  }

  /**
   * Another connection holds the write lock (SQLite waited its short busy timeout): items that have
   * waited `maxWaitMs` fail now, the others go back to the head of the queue for another attempt
   * after a pause, without holding the event loop meanwhile.
   */
  #waitForLock (batch: Array<Pending<I, O>>, err: unknown): void {
    for (const listener of this.#failureListeners) listener(err)
    const now = Date.now()
    const waiting = batch.filter((p) => now - p.since < this.#maxWaitMs)
    for (const p of batch) if (now - p.since >= this.#maxWaitMs) p.reject(err)
    this.#queue.unshift(...waiting)
    if (this.#queue.length === 0) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.flush()
    }, this.#retryMs)
  }
}
