/*
 * /healthz verdict, pure. One dead router is an operator problem, not a
 * collector problem (restarting the collector will not fix it), so a stale
 * device is reported but does not fail the check. The collector is unhealthy
 * when it polls nothing at all, or when the spool is about to drop data.
 */

export interface DeviceHealthInput {
  device: string;
  /** Date.now() of the last poll that returned counters, undefined if none yet. */
  lastSuccessWallMs: number | undefined;
}

export interface HealthInput {
  nowWallMs: number;
  startedWallMs: number;
  pollIntervalSeconds: number;
  devices: readonly DeviceHealthInput[];
  spool: { bytes: number; points: number; maxBytes: number; failing: boolean; lastError: string | undefined };
}

export interface HealthReport {
  status: 'ok' | 'unhealthy';
  reasons: string[];
  devices: Array<{ device: string; lastPollAgeSeconds: number | null; stale: boolean }>;
  spool: { bytes: number; points: number; maxBytes: number; usedRatio: number; writingToInflux: boolean; lastError: string | null };
}

/** A device is stale after 3 missed poll intervals (one late poll is normal jitter). */
export const STALE_AFTER_INTERVALS = 3;
/** Above this fill ratio the next outage minutes will start dropping the oldest points. */
export const SPOOL_UNHEALTHY_RATIO = 0.9;

export function evaluateHealth(input: HealthInput): HealthReport {
  const staleMs = STALE_AFTER_INTERVALS * input.pollIntervalSeconds * 1000;
  const inGrace = input.nowWallMs - input.startedWallMs < staleMs;
  const devices = input.devices.map((d) => {
    const age = d.lastSuccessWallMs === undefined ? null : (input.nowWallMs - d.lastSuccessWallMs) / 1000;
    const stale = age === null ? !inGrace : age * 1000 > staleMs;
    return { device: d.device, lastPollAgeSeconds: age, stale };
  });
  const reasons: string[] = [];
  if (devices.length > 0 && devices.every((d) => d.stale)) reasons.push(`no device polled successfully in the last ${STALE_AFTER_INTERVALS} intervals`);
  const usedRatio = input.spool.maxBytes > 0 ? input.spool.bytes / input.spool.maxBytes : 0;
  if (usedRatio >= SPOOL_UNHEALTHY_RATIO) reasons.push(`influx spool ${(usedRatio * 100).toFixed(0)} % full: oldest points will be dropped`);
  return {
    status: reasons.length === 0 ? 'ok' : 'unhealthy',
    reasons,
    devices,
    spool: {
      bytes: input.spool.bytes,
      points: input.spool.points,
      maxBytes: input.spool.maxBytes,
      usedRatio,
      writingToInflux: !input.spool.failing,
      lastError: input.spool.lastError ?? null,
    },
  };
}
