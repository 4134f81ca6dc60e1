import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter';

describe('Limiter', () => {
  it.each([1, 2, 5])('never runs more than %i tasks at once and runs them all in FIFO order', async (max) => {
    const limiter = new Limiter(max);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const tasks = Array.from({ length: 20 }, (_v, i) =>
      limiter.run(async () => {
        started.push(i);
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 2 + (i % 3)));
        active--;
        return i;
      }),
    );
    // A newcomer arriving while slots are handed over must queue, not jump in.
    const late = limiter.run(async () => {
      active++;
      peak = Math.max(peak, active);
      active--;
      return -1;
    });
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 20 }, (_v, i) => i));
    expect(await late).toBe(-1);
    expect(peak).toBe(max);
    expect(started).toEqual(Array.from({ length: 20 }, (_v, i) => i));
    expect(limiter.inFlight).toBe(0);
  });

  it('frees the slot when a task throws', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.inFlight).toBe(0);
  });

  it('tryAcquire takes only a free slot; release hands a slot to the oldest waiter first', async () => {
    const limiter = new Limiter(1);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const order: string[] = [];
    const a = limiter.acquire().then(() => order.push('a'));
    const b = limiter.acquire().then(() => order.push('b'));
    expect(limiter.queued).toBe(2);
    limiter.release();
    // The slot went to "a": a newcomer still finds none.
    expect(limiter.tryAcquire()).toBe(false);
    await a;
    limiter.release();
    await b;
    limiter.release();
    expect(order).toEqual(['a', 'b']);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.tryAcquire()).toBe(true);
  });
});
