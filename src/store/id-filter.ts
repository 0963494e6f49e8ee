/**
 * A Bloom filter over delivery ids: `mightHave` answers "no" for certain and "maybe" otherwise, so
 * that a new id, the common case, costs no lookup in the index. Sized for `capacity` ids at about
 * 1 % false positives (1.2 bytes per id); past its capacity it still never misses an id, it only
 * answers "maybe" more often.
 */
const BITS_PER_ID = 10
const PROBES = 7

export class IdFilter {
  readonly #words: Uint32Array
  readonly #mask: number

  constructor (capacity: number) {
    let bits = 1024
    while (bits < capacity * BITS_PER_ID) bits *= 2
    this.#words = new Uint32Array(bits / 32)
    this.#mask = bits - 1
  }

  add (id: string): void {
    let [h, step] = hashes(id)
    for (let i = 0; i < PROBES; i++, h = (h + step) >>> 0) {
      const bit = h & this.#mask
      this.#words[bit >>> 5]! |= 1 << (bit & 31)
    }
  }

  mightHave (id: string): boolean {
    let [h, step] = hashes(id)
    for (let i = 0; i < PROBES; i++, h = (h + step) >>> 0) {
      const bit = h & this.#mask
      if ((this.#words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
}

/** Two 32-bit FNV-1a hashes (different offsets) of the id's UTF-16 code units, mixed, for double hashing. */
function hashes (id: string): [number, number] {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193)
  }
  return [mix(a), mix(b) | 1]
}

/** MurmurHash3's finaliser: spreads every input bit over the whole word. */
function mix (h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
