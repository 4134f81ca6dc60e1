import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Config } from '@bandwatch/core';
import { createFpingPinger } from './fpingPinger';
import { createNpmPingPinger } from './npmPingPinger';
import type { Pinger } from './types';

/** Absolute path of an executable on PATH, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      continue; // not in this directory
    }
  }
  return undefined;
}

/**
 * `ping.backend`: `fping` or `ping` as asked; `auto` takes fping whenever it
 * is installed (one process per round, carries 10k targets) and falls back
 * to the per-probe `ping` backend otherwise.
 */
export function choosePinger(ping: Config['ping'], onUnparsed?: (lines: string[]) => void): Pinger {
  const fpingPath = findExecutable('fping');
  if (ping.backend === 'fping' || (ping.backend === 'auto' && fpingPath)) {
    if (!fpingPath) throw new Error('ping.backend: fping is not installed (apt-get install -y fping)');
    return createFpingPinger({ fpingPath, netns: ping.netns, onUnparsed });
  }
  if (ping.netns) throw new Error('ping.netns: only the fping backend can probe from another network namespace');
  return createNpmPingPinger({ maxConcurrentProcesses: ping.max_concurrent_processes });
}
