import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFpingOutput } from './fpingParser';
import { PingerError, type Pinger, type ProbeOptions, type ProbeResult } from './types';

export interface FpingPingerOptions {
  /** fping binary; it needs cap_net_raw (Debian's has it) or root. */
  fpingPath?: string;
  /** Run inside this network namespace via `ip netns exec` (needs root). */
  netns?: string;
  /** Called with stderr lines fping printed that were not per-target results. */
  onUnparsed?: (lines: string[]) => void;
}

/**
 * One fping process per round probes every target: `fping -C N -q` prints one
 * line per target with each probe's RTT (or `-`), which is all the state
 * machine and jitter need. A process per round (rather than `-l` loop mode)
 * means an inventory change simply shows up in the next round's target list,
 * and a crashed fping costs one round, not the monitor.
 */
export function createFpingPinger(options: FpingPingerOptions = {}): Pinger {
  const fping = options.fpingPath ?? 'fping';
  // The monitor hands over the same list every round until the inventory
  // changes: dedupe it and build the file's text once per list.
  let last: { targets: readonly string[]; unique: string[]; text: string } | undefined;
  return {
    name: 'fping',
    async probe(targets: readonly string[], o: ProbeOptions): Promise<ProbeResult[]> {
      if (last?.targets !== targets) {
        const unique = [...new Set(targets)];
        last = { targets, unique, text: unique.join('\n') + '\n' };
      }
      const { unique, text } = last;
      if (unique.length === 0) return [];
      // Targets in and results out through files, not pipes: fping writes its
      // stderr unbuffered, one write() per field, and reading 10k targets'
      // worth of that from a pipe cost Node ~120 ms of CPU per round (vs ~3 ms
      // from a file). The files live for one round in a private temp dir.
      const dir = await mkdtemp(join(tmpdir(), 'bandwatch-fping-'));
      try {
        const targetsFile = join(dir, 'targets');
        const outFile = join(dir, 'out');
        await writeFile(targetsFile, text);
        const args = [
          '-C', String(o.count),
          '-q',
          '-p', String(Math.max(o.periodMs, 1)),
          '-t', String(o.timeoutMs),
          // fping accepts fractions of a millisecond here; 0 means "as fast as the socket takes them".
          '-i', formatMs(o.sendIntervalMs),
          '-f', targetsFile,
        ];
        const [cmd, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, fping, ...args]] : [fping, args];
        // fping needs (targets*count*i) to send plus count*p + t to hear back; past
        // twice that plus 5 s it is stuck, and one stuck round must not stall the next.
        const budgetMs = 2 * (unique.length * o.count * o.sendIntervalMs + o.count * o.periodMs + o.timeoutMs) + 5000;
        const { code, signal } = await runFping(cmd, argv, outFile, budgetMs);
        const stderr = await readFile(outFile, 'utf8');
        // Exit 1 = some target unreachable, 2 = some name did not resolve: both are results, not failures.
        if (signal !== null || code === null || code > 2) {
          throw new PingerError('exit', `fping exited ${signal ?? code}: ${stderr.split('\n').slice(-3).join(' | ').trim()}`);
        }
        const parsed = parseFpingOutput(stderr, unique, o.count);
        if (parsed.unparsed.length > 0) options.onUnparsed?.(parsed.unparsed);
        return parsed.results;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

function formatMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(3);
}

async function runFping(cmd: string, args: string[], outFile: string, budgetMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const out = await open(outFile, 'w');
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', out.fd] });
      const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new PingerError('spawn', `fping: cannot run ${cmd}: ${err.message}`, { cause: err }));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
  } finally {
    await out.close();
  }
}
