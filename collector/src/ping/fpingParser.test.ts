import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFpingOutput } from './fpingParser';

// Each file is the stderr of a real `fping -C N -q` run on this machine (fping 5.1); see testdata/README.md.
const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

describe('parseFpingOutput (real fping 5.1 output)', () => {
  it('reads every target of an all-up loopback run, IPv6 included', () => {
    const targets = ['127.0.1.10', '127.0.1.11', '127.0.1.20', '127.0.1.30', '127.0.2.10', '127.0.2.20', '::1'];
    const { results, unparsed } = parseFpingOutput(testdata('fping-all-up.stderr'), targets, 3);
    expect(unparsed).toEqual([]);
    expect(results.map((r) => r.target)).toEqual(targets);
    for (const r of results) {
      expect(r).toMatchObject({ sent: 3, received: 3 });
      expect(r.error).toBeUndefined();
    }
    const first = results[0];
    expect(first?.rttsMs).toEqual([0.024, 0.049, 0.046]);
    expect(first?.rttMinMs).toBe(0.024);
    expect(first?.rttMaxMs).toBe(0.049);
    expect(first?.rttAvgMs).toBeCloseTo((0.024 + 0.049 + 0.046) / 3, 9);
    expect(first?.jitterMs).toBeCloseTo((0.025 + 0.003) / 2, 9);
  });

  it('a blackholed target is a measured round with every probe lost, not an error', () => {
    const { results } = parseFpingOutput(testdata('fping-one-blackholed.stderr'), ['127.0.1.10', '127.0.1.20'], 3);
    expect(results[1]).toMatchObject({ target: '127.0.1.20', sent: 3, received: 0, rttsMs: [], rttAvgMs: null, jitterMs: null });
    expect(results[1]?.error).toBeUndefined();
    expect(results[0]).toMatchObject({ sent: 3, received: 3 });
  });

  it('partial loss keeps the replies in order and counts the lost ones', () => {
    const { results } = parseFpingOutput(testdata('fping-partial-loss.stderr'), ['127.0.1.30', '127.0.1.10'], 10);
    expect(results[0]).toMatchObject({ sent: 10, received: 6, rttsMs: [0.034, 0.047, 0.048, 0.05, 0.041, 0.048] });
    expect(results[1]).toMatchObject({ sent: 10, received: 10 });
  });

  it('a name fping could not resolve (left out, exit 2) is an unresolvable target; IPv6 without IPv6 is plain loss to fping', () => {
    const { results } = parseFpingOutput(testdata('fping-netns-bad-input.stderr'), ['127.0.0.1', '2001:db8::1', 'bwp-no-such-host.example'], 3);
    expect(results[0]).toMatchObject({ received: 3 });
    expect(results[1]).toMatchObject({ sent: 3, received: 0 });
    expect(results[2]?.error).toEqual({ kind: 'unresolvable', message: 'fping: bwp-no-such-host.example: name did not resolve' });
  });

  it('takes error lines for IPv6 literals (whose colons are not the separator) and keeps unknown lines aside', () => {
    const out = '2001:db8::1: error while sending ping: Cannot assign requested address\nfping: some warning\n127.0.0.1 : 0.03 -\n';
    const { results, unparsed } = parseFpingOutput(out, ['2001:db8::1', '127.0.0.1'], 2);
    expect(results[0]?.error).toEqual({ kind: 'backend', message: 'fping: 2001:db8::1: error while sending ping: Cannot assign requested address' });
    expect(results[1]).toMatchObject({ sent: 2, received: 1 });
    expect(unparsed).toEqual(['fping: some warning']);
  });

  it('lines out of the target order are matched by name', () => {
    const lines = testdata('fping-all-up.stderr').trimEnd().split('\n').reverse().join('\n');
    const targets = ['127.0.1.10', '127.0.1.11', '127.0.1.20', '127.0.1.30', '127.0.2.10', '127.0.2.20', '::1'];
    const inOrder = parseFpingOutput(testdata('fping-all-up.stderr'), targets, 3).results;
    const reversed = parseFpingOutput(lines, targets, 3);
    expect(reversed.unparsed).toEqual([]);
    expect(reversed.results).toEqual(inOrder);
  });
});
