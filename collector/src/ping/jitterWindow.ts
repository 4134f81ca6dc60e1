/**
 * Jitter over the last `rounds` rounds: the mean absolute difference between
 * consecutive replies (RFC 3550's D, without its exponential smoothing, so a
 * window of N rounds means exactly those rounds). The difference across a
 * round boundary counts too: jitter between rounds is what users feel when
 * probes are few per round. Memory is two numbers per round per target.
 */
export class JitterWindow {
  private readonly sums: Float64Array;
  private readonly counts: Uint32Array;
  private head = 0;
  private lastRttMs: number | null = null;

  constructor(readonly rounds: number) {
    this.sums = new Float64Array(rounds);
    this.counts = new Uint32Array(rounds);
  }

  /** Adds one round's replies (in send order) and returns the window's jitter, or null with fewer than two replies in it. */
  add(rttsMs: readonly number[]): number | null {
    let sum = 0;
    let n = 0;
    let prev = this.lastRttMs;
    for (const r of rttsMs) {
      if (prev !== null) {
        sum += Math.abs(r - prev);
        n++;
      }
      prev = r;
    }
    // A round with no reply breaks the chain: the next reply is not "consecutive".
    this.lastRttMs = rttsMs.length > 0 ? prev : null;
    this.sums[this.head] = sum;
    this.counts[this.head] = n;
    this.head = (this.head + 1) % this.rounds;
    return this.value();
  }

  value(): number | null {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < this.rounds; i++) {
      sum += this.sums[i] as number;
      n += this.counts[i] as number;
    }
    return n > 0 ? sum / n : null;
  }
}
