/** A maintenance window as stored in `silences`. Null reseller/device = the whole ISP. */
export interface Silence {
  ispId: string;
  resellerId: string | null;
  deviceId: string | null;
  startsAtMs: number;
  endsAtMs: number;
}

/**
 * True when a maintenance window covers the subject now. A window on a
 * device silences that device's alerts; a window on a reseller silences that
 * reseller's; one with neither silences the whole ISP.
 */
export function isSilenced(silences: readonly Silence[], subject: { ispId: string; resellerId: string | null; deviceId: string | null }, nowMs: number): boolean {
  return silences.some(
    (s) =>
      s.ispId === subject.ispId &&
      s.startsAtMs <= nowMs &&
      nowMs < s.endsAtMs &&
      (s.resellerId === null || s.resellerId === subject.resellerId) &&
      (s.deviceId === null || s.deviceId === subject.deviceId),
  );
}
