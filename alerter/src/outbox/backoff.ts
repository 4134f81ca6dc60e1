/**
 * Exponential backoff with "equal jitter": half the step is fixed, half is
 * random, so retries from many rows spread out but never come back sooner
 * than half the nominal delay. `attempt` counts from 1 (the failed attempt).
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Spaces sends from one sender to at most `ratePerSecond` (WhatsApp: ~10 msg/s per sender). */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #next = new Map<string, number>();
  readonly #now: () => number;

  constructor(ratePerSecond: number, now: () => number = () => performance.now()) {
    this.#intervalMs = 1000 / ratePerSecond;
    this.#now = now;
  }

  /** Milliseconds to wait before this sender may send; reserves the slot. */
  reserve(sender: string): number {
    const now = this.#now();
    const slot = Math.max(now, this.#next.get(sender) ?? now);
    this.#next.set(sender, slot + this.#intervalMs);
    return slot - now;
  }
}
