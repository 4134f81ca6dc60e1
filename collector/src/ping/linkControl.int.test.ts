import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { assertDemoAddress, blackholedLoopbacks, loopbackDown, loopbackUp } from './linkControl';

// Addresses no demo or other test uses, so taking one down disturbs nobody.
const VICTIM = '127.0.99.20';
const BYSTANDER = '127.0.99.21';

function fping(): Map<string, string> {
  const r = spawnSync('fping', ['-C', '2', '-q', '-p', '50', '-t', '100', VICTIM, BYSTANDER], { encoding: 'utf8' });
  return new Map(r.stderr.trim().split('\n').map((l) => l.split(/\s+:\s+/) as [string, string]));
}

afterAll(() => loopbackUp(VICTIM));

describe('linkControl (blackhole route for one loopback address)', () => {
  it('makes fping fail for that address only, and undoing it restores it', () => {
    expect(fping().get(VICTIM)).toMatch(/^[\d.]+ [\d.]+$/);
    loopbackDown(VICTIM);
    loopbackDown(VICTIM); // idempotent
    expect(blackholedLoopbacks()).toContain(VICTIM);
    const down = fping();
    expect(down.get(VICTIM)).toBe('- -');
    expect(down.get(BYSTANDER)).toMatch(/^[\d.]+ [\d.]+$/);
    loopbackUp(VICTIM);
    expect(blackholedLoopbacks()).not.toContain(VICTIM);
    expect(fping().get(VICTIM)).toMatch(/^[\d.]+ [\d.]+$/);
  });

  it.each(['127.0.0.1', '10.0.0.1', '::1', 'localhost'])('refuses %s', (address) => {
    expect(() => assertDemoAddress(address)).toThrow();
  });
});
