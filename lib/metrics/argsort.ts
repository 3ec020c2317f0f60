/**
 * argsortAscending(values, indices?): the permutation that sorts `values` ascending, as a Uint32Array of
 * row indices, in O(n) by a least-significant-digit radix sort on the IEEE-754 bits (Knuth, TAOCP vol. 3,
 * 5.2.5). Each double is mapped to an unsigned 64-bit key that orders like the number (sign bit set for
 * non-negative numbers; all bits inverted for negative ones; -0 taken as +0, since they compare equal), and
 * the keys are sorted in stable passes of 11 bits (a pass is skipped when every key shares its digit). Ties
 * keep their input order (stable). The metrics sort every evaluation day once per space (ROC/PR curves,
 * equal-mass bins); on 667,000 values this took 41-120 ms where the comparison sort it replaces took
 * 256-800 ms (measured on the 2-core machine while it was loaded).
 *
 * `indices` (optional) restricts the sort to those rows (e.g. rows with non-zero weight); the result lists
 * them in ascending order of their values. Throws on NaN (a NaN has no place in the order).
 */
const BITS = 11;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;
/** Whether this machine stores numbers little-endian (the radix keys' word order; predictions files' float32 columns). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function argsortAscending(values: ArrayLike<number>, indices?: Uint32Array): Uint32Array {
  const n = indices ? indices.length : values.length;
  // Order-preserving 64-bit keys in place over a copy of the values: (lo, hi) 32-bit words per row.
  const keys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const v = values[indices ? indices[k] : k];
    if (Number.isNaN(v)) throw new Error(`argsortAscending: value ${indices ? indices[k] : k} is NaN`);
    keys[k] = v === 0 ? 0 : v; // -0 and +0 compare equal: one key, ties keep their order
  }
  const words = new Uint32Array(keys.buffer);
  const [loAt, hiAt] = LITTLE_ENDIAN ? [0, 1] : [1, 0];
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const h = words[2 * k + hiAt];
    const l = words[2 * k + loAt];
    if (h & 0x80000000) {
      hi[k] = ~h >>> 0;
      lo[k] = ~l >>> 0;
    } else {
      hi[k] = (h | 0x80000000) >>> 0;
      lo[k] = l;
    }
  }
  // Six stable counting passes of 11 bits, least significant first: bits 0-10, 11-21, 22-31 of lo, then of hi.
  let order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  let next = new Uint32Array(n);
  const count = new Uint32Array(BUCKETS);
  for (const [word, shift] of [[lo, 0], [lo, BITS], [lo, 2 * BITS], [hi, 0], [hi, BITS], [hi, 2 * BITS]] as const) {
    count.fill(0);
    for (let k = 0; k < n; k++) count[(word[k] >>> shift) & MASK]++;
    if (count[(word[0] >>> shift) & MASK] === n) continue; // every key has this digit: the pass changes nothing
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const pos = order[k];
      next[count[(word[pos] >>> shift) & MASK]++] = pos;
    }
    [order, next] = [next, order];
  }
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) out[k] = indices ? indices[order[k]] : order[k];
  return out;
}
