import { setFlagsFromString } from 'node:v8';

/**
 * Sets how far V8 lets the old generation grow past what survived the last full collection
 * before it collects again: 1 + percent/100 times the live heap (0: V8's own factor, up to 4x).
 * Under the bench's load, V8's own factor let the API's heap fill with promoted garbage; the
 * measured peaks with and without the policy are in docs/benchmarks.md.
 *
 * The flag is read each time V8 computes its next collection limit, so setting it while the
 * process runs takes effect from the next full collection; it bounds growth, not the heap: a
 * larger live heap still fits, unlike --max-old-space-size.
 */
export function applyHeapPolicy(heapGrowingPercent: number): void {
  if (heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}
