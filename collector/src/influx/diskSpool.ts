import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, ftruncateSync, unlinkSync, writeSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KindedError } from '@bandwatch/core';

/*
 * A durable FIFO of line-protocol batches on disk, for while InfluxDB is
 * unreachable.
 *
 * Layout: append-only segment files `seg-<16 digits>.lp` plus a `cursor` file
 * `<segment> <offset>` naming the first record not yet confirmed by InfluxDB.
 * A record is `#bw <bodyBytes> <points>\n` + body (lines ending in \n): the
 * header is a line-protocol comment, so a segment can be inspected or posted
 * by hand with curl.
 *
 * Why no duplicates after replay: the cursor only moves after InfluxDB
 * confirmed a record (ack), and it is fsync'd (write tmp, fsync, rename) before
 * the segment it leaves is deleted. A crash between a confirmed write and the
 * cursor update replays that one record; its points carry explicit
 * timestamps and InfluxDB stores a point by (series, timestamp), so the
 * replayed copy overwrites itself instead of adding a row.
 *
 * Why records are appended with fsync: the spool exists for outages, which
 * are also when hosts get rebooted. A torn last record (crash mid-append) is
 * detected by its length on open and cut off.
 *
 * Bound: pending bytes never exceed maxBytes. To make room the OLDEST records
 * are dropped (newest data matters most to alerting and to the operator
 * watching recovery); the caller gets the count to put in metrics and logs.
 */

export interface SpoolRecord {
  body: string;
  points: number;
}

export interface DropReport {
  records: number;
  points: number;
  bytes: number;
}

interface Segment {
  seq: number;
  path: string;
  size: number;
}

const HEADER_MAX = 64;
/** Spool dirs open in this process; the LOCK file covers other processes. */
const openDirs = new Set<string>();
const SEGMENT_RE = /^seg-(\d{16})\.lp$/;

function segName(seq: number): string {
  return `seg-${String(seq).padStart(16, '0')}.lp`;
}

export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  /** Rotate the write segment past this size (default: maxBytes / 8, clamped to 64 KiB..16 MiB). */
  segmentBytes?: number;
}

export class DiskSpool {
  private segments: Segment[] = [];
  private cursorSeq = 0;
  private cursorOffset = 0;
  private writeFd: number | undefined;
  private pendingPoints = 0;
  /** Bytes of a torn last record cut off when the spool was opened (a crash mid-append). */
  truncatedBytes = 0;
  private readonly segmentBytes: number;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    segmentBytes: number | undefined,
  ) {
    this.segmentBytes = segmentBytes ?? Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(maxBytes / 8)));
  }

  /** Opens (or creates) the spool in `dir`, recovering what a previous process left. */
  static open(options: DiskSpoolOptions): DiskSpool {
    mkdirSync(options.dir, { recursive: true });
    lockDir(options.dir);
    const spool = new DiskSpool(options.dir, options.maxBytes, options.segmentBytes);
    try {
      spool.recover();
    } catch (err) {
      unlockDir(options.dir);
      throw err;
    }
    return spool;
  }

  /** Bytes of records not yet confirmed. */
  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total - (this.segments[0]?.seq === this.cursorSeq ? this.cursorOffset : 0);
  }

  get points(): number {
    return this.pendingPoints;
  }

  get isEmpty(): boolean {
    return this.bytes === 0;
  }

  /** Appends a batch durably; returns what had to be dropped (oldest first) to stay within maxBytes. */
  append(record: SpoolRecord): DropReport {
    const body = Buffer.from(record.body, 'utf8');
    const header = Buffer.from(`#bw ${body.length} ${record.points}\n`, 'utf8');
    const size = header.length + body.length;
    const dropped: DropReport = { records: 0, points: 0, bytes: 0 };
    if (size > this.maxBytes) {
      // A single batch bigger than the whole spool can never fit.
      return { records: 1, points: record.points, bytes: size };
    }
    while (this.bytes + size > this.maxBytes) {
      const head = this.peek();
      if (!head) break;
      dropped.records += 1;
      dropped.points += head.points;
      dropped.bytes += head.size;
      this.ack();
    }
    const fd = this.writeSegment(size);
    writeSync(fd, Buffer.concat([header, body]));
    fsyncSync(fd);
    const tail = this.segments[this.segments.length - 1] as Segment;
    tail.size += size;
    this.pendingPoints += record.points;
    return dropped;
  }

  /** The oldest unconfirmed record, or undefined when the spool is empty. */
  peek(): (SpoolRecord & { size: number }) | undefined {
    this.skipConsumedSegments();
    const head = this.segments[0];
    if (!head || this.cursorOffset >= head.size) return undefined;
    const rec = this.readRecord(head, this.cursorOffset);
    if (!rec) throw new Error(`spool ${head.path}: corrupt record at offset ${this.cursorOffset}`);
    return rec;
  }

  /**
   * Gives up the rest of the head segment (a corrupt record in the middle of
   * a file: disk damage or a foreign write). Returns the bytes discarded.
   * Without this one bad record would block every later point forever.
   */
  discardHeadSegment(): number {
    const head = this.segments[0];
    if (!head) return 0;
    const lost = head.size - this.cursorOffset;
    // Points of the lost part are unknown; recount what remains.
    this.cursorOffset = head.size;
    if (this.segments.length > 1) this.skipConsumedSegments();
    else this.writeCursor();
    this.pendingPoints = 0;
    for (const seg of this.segments) {
      let offset = seg.seq === this.cursorSeq ? this.cursorOffset : 0;
      while (offset < seg.size) {
        const rec = this.readRecord(seg, offset);
        if (!rec) break;
        this.pendingPoints += rec.points;
        offset += rec.size;
      }
    }
    return lost;
  }

  /** Confirms the record returned by peek(): the cursor moves past it durably. */
  ack(): void {
    const head = this.peek();
    if (!head) return;
    this.cursorOffset += head.size;
    this.pendingPoints -= head.points;
    const seg = this.segments[0] as Segment;
    if (this.cursorOffset >= seg.size && this.segments.length > 1) {
      // Leaving a finished segment: persist the cursor first, then delete, so
      // a crash in between leaves a segment the next open knows is consumed.
      const next = this.segments[1] as Segment;
      this.cursorSeq = next.seq;
      this.cursorOffset = 0;
      this.writeCursor();
      unlinkSync(seg.path);
      this.segments.shift();
    } else {
      this.writeCursor();
    }
  }

  close(): void {
    if (this.writeFd !== undefined) {
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
    unlockDir(this.dir);
  }

  private skipConsumedSegments(): void {
    while (this.segments.length > 1 && this.cursorOffset >= (this.segments[0] as Segment).size) {
      const seg = this.segments.shift() as Segment;
      const next = this.segments[0] as Segment;
      this.cursorSeq = next.seq;
      this.cursorOffset = 0;
      this.writeCursor();
      unlinkSync(seg.path);
    }
  }

  private writeSegment(incoming: number): number {
    const tail = this.segments[this.segments.length - 1];
    if (tail && this.writeFd !== undefined && tail.size + incoming <= this.segmentBytes) return this.writeFd;
    if (tail && this.writeFd === undefined && tail.size + incoming <= this.segmentBytes) {
      this.writeFd = openSync(tail.path, 'a');
      return this.writeFd;
    }
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    const seq = tail ? tail.seq + 1 : this.cursorSeq;
    const path = join(this.dir, segName(seq));
    this.writeFd = openSync(path, 'a');
    this.fsyncDir();
    this.segments.push({ seq, path, size: 0 });
    if (this.segments.length === 1) {
      this.cursorSeq = seq;
      this.cursorOffset = 0;
      this.writeCursor();
    }
    return this.writeFd;
  }

  private readRecord(seg: Segment, offset: number): (SpoolRecord & { size: number }) | undefined {
    const fd = openSync(seg.path, 'r');
    try {
      const head = Buffer.alloc(HEADER_MAX);
      const n = readSync(fd, head, 0, HEADER_MAX, offset);
      const nl = head.subarray(0, n).indexOf(10);
      if (nl < 0) return undefined;
      const m = /^#bw (\d+) (\d+)$/.exec(head.subarray(0, nl).toString('utf8'));
      if (!m) return undefined;
      const bodyBytes = Number(m[1]);
      const body = Buffer.alloc(bodyBytes);
      const got = readSync(fd, body, 0, bodyBytes, offset + nl + 1);
      if (got !== bodyBytes) return undefined;
      return { body: body.toString('utf8'), points: Number(m[2]), size: nl + 1 + bodyBytes };
    } finally {
      closeSync(fd);
    }
  }

  private writeCursor(): void {
    const tmp = join(this.dir, 'cursor.tmp');
    const fd = openSync(tmp, 'w');
    writeSync(fd, `${this.cursorSeq} ${this.cursorOffset}\n`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.dir, 'cursor'));
    this.fsyncDir();
  }

  private fsyncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private recover(): void {
    const cursorPath = join(this.dir, 'cursor');
    if (existsSync(cursorPath)) {
      const [seq, offset] = readFileSync(cursorPath, 'utf8').trim().split(' ').map(Number);
      this.cursorSeq = seq ?? 0;
      this.cursorOffset = offset ?? 0;
    }
    const found = readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ seq: Number(m[1]), path: join(this.dir, m[0]), size: statSync(join(this.dir, m[0])).size }))
      .sort((a, b) => a.seq - b.seq);
    for (const seg of found) {
      // Segments before the cursor were confirmed before a crash cut the delete short.
      if (seg.seq < this.cursorSeq) unlinkSync(seg.path);
      else this.segments.push(seg);
    }
    if (this.segments.length === 0) {
      this.cursorOffset = 0;
      return;
    }
    if ((this.segments[0] as Segment).seq !== this.cursorSeq) {
      this.cursorSeq = (this.segments[0] as Segment).seq;
      this.cursorOffset = 0;
    }
    // Count pending points and cut a torn tail record. Only the LAST segment
    // can end in a torn append; a bad record elsewhere is corruption, left in
    // place for peek() to report (and the writer to discard, logged).
    const last = this.segments[this.segments.length - 1];
    for (const seg of this.segments) {
      let offset = seg.seq === this.cursorSeq ? this.cursorOffset : 0;
      while (offset < seg.size) {
        const rec = this.readRecord(seg, offset);
        if (!rec && seg !== last) break;
        if (!rec) {
          this.truncatedBytes += seg.size - offset;
          const fd = openSync(seg.path, 'r+');
          ftruncateSync(fd, offset);
          fsyncSync(fd);
          closeSync(fd);
          seg.size = offset;
          break;
        }
        this.pendingPoints += rec.points;
        offset += rec.size;
      }
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Two writers appending to one spool would interleave records and fight over
 * the cursor (e.g. two collector shards configured with the same dir), so a
 * spool has one owner: a LOCK file with the owner's pid. A lock left by a
 * crashed process (pid gone) is taken over.
 */
function lockDir(dir: string): void {
  const key = resolve(dir);
  if (openDirs.has(key)) throw new KindedError('config', `influx.spool.dir ${dir} is already open in this process`);
  const lock = join(dir, 'LOCK');
  if (existsSync(lock)) {
    const owner = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && pidAlive(owner)) {
      throw new KindedError('config', `influx.spool.dir ${dir} is in use by process ${owner}; give every collector its own spool dir`);
    }
  }
  const fd = openSync(lock, 'w');
  writeSync(fd, `${process.pid}\n`);
  fsyncSync(fd);
  closeSync(fd);
  openDirs.add(key);
}

function unlockDir(dir: string): void {
  const key = resolve(dir);
  if (!openDirs.delete(key)) return;
  try {
    unlinkSync(join(dir, 'LOCK'));
  } catch (err) {
    // Already gone (dir removed by an operator or a test): nothing to release.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
