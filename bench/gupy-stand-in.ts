/**
 * The tests' stand-in for Gupy's API (test/gupy-stand-in.ts), as its own process for the import
 * benchmark: BENCH_JOBS jobs of BENCH_APPLICATIONS / BENCH_JOBS applications, a new person each, in
 * pages of at most 100, answering 429 with `WAF: Rate-Limit` beyond 500 requests in any minute, as
 * Gupy's firewall does. Prints `listening <port>`; `GET /stand-in/stats` answers its counts.
 */
import { GUPY_TOKEN, restApplication, startGupyStandIn, type StandInJob } from '../test/gupy-stand-in.js'

const JOBS = Number(process.env.BENCH_JOBS ?? 100)
const APPLICATIONS = Number(process.env.BENCH_APPLICATIONS ?? 20_000)
/** Gupy's published limit per IP (its firewall counts the last 5 minutes every 30 s; a minute's window is as strict). */
export const LIMIT_PER_MINUTE = 500
const perJob = Math.ceil(APPLICATIONS / JOBS)

const jobs: StandInJob[] = Array.from({ length: JOBS }, (_, j) => {
  const job = { id: 7000 + j, name: `Vaga ${7000 + j}` }
  return { ...job, applications: Array.from({ length: perJob }, (_, i) => restApplication(200_000 + j * perJob + i, job)) }
})
const standIn = await startGupyStandIn({ jobs, perMinute: LIMIT_PER_MINUTE, token: GUPY_TOKEN })
console.log(`listening ${standIn.port}`)
