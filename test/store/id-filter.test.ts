/** The id filter: never misses an id it was given; answers "maybe" for few others. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { IdFilter } from '../../src/store/id-filter.js'

test('every id added is reported, random UUIDs and short ids alike; few others are', () => {
  const filter = new IdFilter(50_000)
  const ids = [...Array.from({ length: 45_000 }, () => randomUUID()), ...Array.from({ length: 5_000 }, (_, i) => `c-${i}`)]
  for (const id of ids) filter.add(id)
  assert.deepEqual(ids.filter((id) => !filter.mightHave(id)), [])
  const others = [...Array.from({ length: 45_000 }, () => randomUUID()), ...Array.from({ length: 5_000 }, (_, i) => `m-${i}`)]
  const falsePositives = others.filter((id) => filter.mightHave(id)).length
  assert.ok(falsePositives < others.length * 0.02, `${falsePositives} false positives in ${others.length}`)
})

test('past its capacity it still reports every id it was given', () => {
  const filter = new IdFilter(1_000)
  const ids = Array.from({ length: 20_000 }, () => randomUUID())
  for (const id of ids) filter.add(id)
  assert.deepEqual(ids.filter((id) => !filter.mightHave(id)), [])
})
