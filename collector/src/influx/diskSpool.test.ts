import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '@bandwatch/core/testing';
import { DiskSpool } from './diskSpool';

const dirs: string[] = [];
function tempDir(): string {
  const d = makeTempDir('spool');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (i: number, points = 1) => ({ body: `m v=${i} ${i}\n`, points });

function drain(spool: DiskSpool): string[] {
  const out: string[] = [];
  for (let r = spool.peek(); r; r = spool.peek()) {
    out.push(r.body.trim());
    spool.ack();
  }
  return out;
}

describe('DiskSpool', () => {
  it('is a FIFO across segment rotation and deletes consumed segments', () => {
    const dir = tempDir();
    const spool = DiskSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 });
    for (let i = 0; i < 20; i++) spool.append(rec(i));
    expect(readdirSync(dir).filter((f) => f.endsWith('.lp')).length).toBeGreaterThan(3);
    expect(spool.points).toBe(20);
    expect(drain(spool)).toEqual(Array.from({ length: 20 }, (_, i) => `m v=${i} ${i}`));
    expect(spool.isEmpty).toBe(true);
    expect(spool.points).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.lp')).length).toBeLessThanOrEqual(1);
    spool.close();
  });

  it('survives a restart: only unacknowledged records come back, in order', () => {
    const dir = tempDir();
    const a = DiskSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 });
    for (let i = 0; i < 10; i++) a.append(rec(i, 2));
    for (let i = 0; i < 4; i++) a.ack();
    a.close();
    const b = DiskSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 });
    expect(b.points).toBe(12);
    b.append(rec(10, 2));
    expect(drain(b)).toEqual(Array.from({ length: 7 }, (_, i) => `m v=${i + 4} ${i + 4}`));
    b.close();
  });

  it('cuts a torn last record (crash mid-append) and keeps the good ones', () => {
    const dir = tempDir();
    const a = DiskSpool.open({ dir, maxBytes: 1 << 20 });
    a.append(rec(1));
    a.append(rec(2));
    a.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.lp')) as string;
    appendFileSync(join(dir, seg), '#bw 100 5\nm v=3 3\n');
    const b = DiskSpool.open({ dir, maxBytes: 1 << 20 });
    expect(b.points).toBe(2);
    b.append(rec(4));
    expect(drain(b)).toEqual(['m v=1 1', 'm v=2 2', 'm v=4 4']);
    b.close();
  });

  it('drops the oldest records at the bound and reports exactly what it dropped', () => {
    const dir = tempDir();
    // Each record is 16 bytes (`#bw 8 3\n` + `m v=N N\n`): 6 fit in 100.
    const spool = DiskSpool.open({ dir, maxBytes: 100, segmentBytes: 50 });
    const drops = [];
    for (let i = 0; i < 9; i++) drops.push(spool.append(rec(i, 3)));
    const dropped = drops.reduce((n, d) => n + d.points, 0);
    expect(spool.bytes).toBeLessThanOrEqual(100);
    const left = drain(spool);
    expect(left).toEqual(Array.from({ length: 6 }, (_, i) => `m v=${i + 3} ${i + 3}`));
    expect(dropped).toBe(3 * 3);
    spool.close();
  });

  it('a corrupt record in the middle can be discarded with the rest of its segment; later segments survive', () => {
    const dir = tempDir();
    const a = DiskSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 40 });
    for (let i = 0; i < 6; i++) a.append(rec(i));
    a.close();
    const segs = readdirSync(dir).filter((f) => f.endsWith('.lp')).sort();
    expect(segs.length).toBe(3);
    // Damage the header of the first record of the first segment.
    const first = join(dir, segs[0] as string);
    writeFileSync(first, readFileSync(first, 'utf8').replace('#bw', '#xx'));
    const b = DiskSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 40 });
    expect(() => b.peek()).toThrow(/corrupt record/);
    expect(b.discardHeadSegment()).toBe(32);
    expect(b.points).toBe(4);
    expect(drain(b)).toEqual(['m v=2 2', 'm v=3 3', 'm v=4 4', 'm v=5 5']);
    b.close();
  });

  it('has one owner: a second open of the same dir fails until the first closes', () => {
    const dir = tempDir();
    const a = DiskSpool.open({ dir, maxBytes: 1 << 20 });
    expect(() => DiskSpool.open({ dir, maxBytes: 1 << 20 })).toThrow(/already open/);
    a.close();
    const b = DiskSpool.open({ dir, maxBytes: 1 << 20 });
    b.close();
  });

  it('takes over the LOCK of a process that is gone, refuses one that is alive', () => {
    const dir = tempDir();
    // PID 1 (init) is alive in every container and never a collector.
    writeFileSync(join(dir, 'LOCK'), '1\n');
    expect(() => DiskSpool.open({ dir, maxBytes: 1 << 20 })).toThrow(/in use by process 1/);
    // A pid above the kernel's pid_max cannot exist: a crashed owner.
    writeFileSync(join(dir, 'LOCK'), '4194305\n');
    const s = DiskSpool.open({ dir, maxBytes: 1 << 20 });
    s.close();
  });

  it('refuses a record larger than the whole spool and counts it', () => {
    const spool = DiskSpool.open({ dir: tempDir(), maxBytes: 1024 });
    const report = spool.append({ body: `${'x'.repeat(2000)}\n`, points: 7 });
    expect(report).toMatchObject({ records: 1, points: 7 });
    expect(spool.isEmpty).toBe(true);
    spool.close();
  });
});
