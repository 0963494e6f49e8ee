/**
 * How the service and the operator commands share one SQLite file, in one place. SQLite lets one
 * connection write at a time; everyone else either waits for the lock or tries again later.
 *
 * Never stall, never lie:
 * - The service waits for a lock synchronously only SERVICE_BUSY_MS per statement: its event loop
 *   answers every request, health checks included, while a command writes. A write that still finds
 *   the lock taken is tried again off the event loop: a webhook's for INGEST_MAX_WAIT_MS (then it is
 *   answered 503 with Retry-After, never 200), a background step after BACKGROUND_RETRY_MS, a Gupy
 *   run's write with `whenFree`.
 * - A command holds no event loop anyone waits on: it waits up to COMMAND_BUSY_MS per statement, and
 *   between two write transactions pauses as long as the last one took (`politePause`), so that the
 *   service, trying every INGEST_RETRY_MS, finds the lock free about half of the time.
 * - Start-up waits for a command's transaction up to STARTUP_WAIT_MS; a second service waits for the
 *   first one's lock for as long as it runs, asking every SERVICE_LOCK_POLL_MS.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { isBusy } from './sqlite.js'

/** The service's synchronous wait for a lock, per statement. */
export const SERVICE_BUSY_MS = 25
/** A command's synchronous wait for a lock, per statement. */
export const COMMAND_BUSY_MS = 10_000
/** How long a webhook waits for a lock held elsewhere before it is answered 503, and how often it tries. */
export const INGEST_MAX_WAIT_MS = 1000
export const INGEST_RETRY_MS = 50
/** A background step (mapping) that met a locked or failing database tries again after this. */
export const BACKGROUND_RETRY_MS = 1000
/**
 * At most this long for one mapping step, so the event loop never waits long on mapping: a webhook
 * that arrives meanwhile waits for the step, then for its commit (10 ms: the p99 at 32 connections).
 */
export const BACKGROUND_STEP_MS = 10
/** Start-up's writes wait this long at most for a command's transaction, trying every STARTUP_RETRY_MS. */
export const STARTUP_WAIT_MS = 60_000
export const STARTUP_RETRY_MS = 250
/** A second service on the file asks for the first one's lock this often, and says it waits this often. */
export const SERVICE_LOCK_POLL_MS = 500
export const SERVICE_LOCK_REMIND_MS = 60_000
/** A checkpoint that readers keep busy is tried this often, this many times. */
export const CHECKPOINT_RETRY_MS = 100
export const CHECKPOINT_ATTEMPTS = 50

/**
 * Between two write transactions of a long command: a pause as long as the transaction took (at
 * least 5 ms), so that the service, which tries again every INGEST_RETRY_MS, finds the lock free.
 */
export function politePause (): () => Promise<void> {
  let since = performance.now()
  return async () => {
    await sleep(Math.max(5, performance.now() - since))
    since = performance.now()
  }
}

/**
 * A write of the service's background work (a Gupy run) that another connection's lock may refuse:
 * tried again, off the event loop, for about ten seconds (25 ms more between each attempt, at most 500).
 */
export async function whenFree<T> (write: () => T): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return write()
    } catch (err) {
      if (!isBusy(err) || attempt >= 40) throw err
      await sleep(Math.min(500, 25 * attempt))
    }
  }
}
