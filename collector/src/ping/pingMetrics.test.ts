import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PingMetrics, type TargetSample } from './pingMetrics';

const sample = (labels: TargetSample['labels'], over: Partial<TargetSample> = {}): TargetSample => ({
  labels: Object.freeze(labels),
  state: 'UP',
  lossPercent: 0,
  rttAvgMs: 0.25,
  rttMaxMs: 0.5,
  jitterMs: 0.01,
  errorKind: null,
  ...over,
});

describe('per-target gauges', () => {
  it('expose each target once per gauge with escaped labels, follow label changes, and leave out values that are null', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ instance: 'c1' });
    let targets = [
      sample({ isp: 'nw', reseller: 'acme "net"', target: '127.0.0.1' }),
      sample({ isp: 'nw', reseller: 'back\\slash\nnl', target: '127.0.0.2' }, { state: 'DOWN', lossPercent: 100, rttAvgMs: null }),
    ];
    new PingMetrics(registry, () => targets, () => []);
    const text = await registry.metrics();
    expect(text).toContain('bandwatch_ping_target_up{instance="c1",isp="nw",reseller="acme \\"net\\"",target="127.0.0.1"} 1');
    expect(text).toContain('bandwatch_ping_target_up{instance="c1",isp="nw",reseller="back\\\\slash\\nnl",target="127.0.0.2"} 0');
    expect(text).toContain('bandwatch_ping_rtt_seconds{instance="c1",isp="nw",reseller="acme \\"net\\"",target="127.0.0.1"} 0.00025');
    expect(text).not.toMatch(/bandwatch_ping_rtt_seconds\{[^}]*127\.0\.0\.2/);
    expect(text).toContain('bandwatch_ping_loss_ratio{instance="c1",isp="nw",reseller="back\\\\slash\\nnl",target="127.0.0.2"} 1');
    expect(text.match(/^bandwatch_ping_target_state_code\{/gm)).toHaveLength(2);

    // A renamed reseller comes with a new frozen labels object: the next scrape shows the new name only.
    targets = [sample({ isp: 'nw', reseller: 'acme-renamed', target: '127.0.0.1' })];
    const next = await registry.metrics();
    expect(next).toContain('bandwatch_ping_target_up{instance="c1",isp="nw",reseller="acme-renamed",target="127.0.0.1"} 1');
    expect(next).not.toContain('acme \\"net\\"');
    expect(next).not.toContain('127.0.0.2');
  });
});
