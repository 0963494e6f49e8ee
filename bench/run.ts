/** `npm run bench [-- ingest|burst|contention|feed|import|push]`: the service's benchmarks, each against a baseline measured in the same run. */
import { runBurstBenchmark } from './burst.js'
import { runContentionBenchmark } from './contention.js'
import { runFeedBenchmark } from './feed.js'
import { runImportBenchmark } from './import.js'
import { runIngestBenchmark } from './ingest.js'
import { runPushBenchmark } from './push.js'

const parts: Record<string, () => Promise<void>> = { ingest: runIngestBenchmark, burst: runBurstBenchmark, contention: runContentionBenchmark, feed: runFeedBenchmark, import: runImportBenchmark, push: runPushBenchmark }
const wanted = process.argv.slice(2)
for (const name of wanted.length > 0 ? wanted : Object.keys(parts)) {
  const part = parts[name]
  if (part === undefined) throw new Error(`unknown benchmark "${name}"; choose from ${Object.keys(parts).join(', ')}`)
  await part()
}
