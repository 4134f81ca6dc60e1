import ping from 'ping';
import { errorResult, summarise, type Pinger, type ProbeOptions, type ProbeResult } from './types';

export interface NpmPingPingerOptions {
  /** Upper bound on ping processes alive at once. */
  maxConcurrentProcesses?: number;
}

/*
 * The `ping` backend: the npm `ping` package, which spawns one iputils `ping`
 * process per target per round. Measured (bench/ping.ts, 500 targets x 3
 * probes): ~1.9 ms of CPU per probe, about half of it Node's own spawn and
 * pipe handling — 140x fping's cost — and a process lives for
 * (probes-1) x period + timeout, so throughput is bounded by
 * maxConcurrentProcesses / that lifetime (~30 targets/s with the defaults).
 * Use it where fping is not installed and targets number in the hundreds.
 */
export function createNpmPingPinger(options: NpmPingPingerOptions = {}): Pinger {
  const limit = options.maxConcurrentProcesses ?? 64;
  return {
    name: 'ping',
    async probe(targets: readonly string[], o: ProbeOptions): Promise<ProbeResult[]> {
      const unique = [...new Set(targets)];
      const results: ProbeResult[] = new Array(unique.length);
      let next = 0;
      const worker = async () => {
        while (next < unique.length) {
          const i = next++;
          results[i] = await probeOne(unique[i] as string, o);
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, unique.length) }, worker));
      return results;
    },
  };
}

const SUMMARY = /(\d+) packets transmitted, (\d+) (?:packets )?received/;
const RESOLVE_FAILURE = /Name or service not known|Temporary failure in name resolution|No address associated|nodename nor servname/i;

async function probeOne(target: string, o: ProbeOptions): Promise<ProbeResult> {
  let res: Awaited<ReturnType<typeof ping.promise.probe>>;
  try {
    res = await ping.promise.probe(target, {
      numeric: true,
      min_reply: o.count,
      // iputils takes seconds with fractions for both.
      timeout: o.timeoutMs / 1000,
      extra: ['-i', (Math.max(o.periodMs, 2) / 1000).toFixed(3)],
    });
  } catch (err) {
    return errorResult(target, { kind: 'backend', message: `ping: ${(err as Error).message}` });
  }
  const output = res.output ?? '';
  if (RESOLVE_FAILURE.test(output)) return errorResult(target, { kind: 'unresolvable', message: `ping: ${firstLine(output)}` });
  const rtts = ((res as { times?: number[] }).times ?? []).filter((t) => Number.isFinite(t));
  const m = SUMMARY.exec(output);
  const sent = m ? Number(m[1]) : o.count;
  // Lost probes have no position in iputils' output; only their number is known.
  const probes: Array<number | null> = [...rtts, ...Array<null>(Math.max(0, sent - rtts.length)).fill(null)];
  const r = summarise(target, probes);
  // "connect: Network is unreachable" sends nothing: the round failed like a lost one.
  r.sent = Math.max(sent, o.count);
  return r;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? s.trim();
}
