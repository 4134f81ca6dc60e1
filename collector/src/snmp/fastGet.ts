import ber from 'asn1-ber';
import snmp from 'net-snmp';
import type { SnmpVarbind } from './snmpClient';

/*
 * The poll cycle's GET for SNMP v1/v2c without net-snmp's per-request work.
 * The poller asks for the same OID lists every cycle, so each list is encoded
 * once into a GetRequest template (with net-snmp's own BER writer, so the
 * bytes are the ones net-snmp would send) and a request only patches its id
 * in. A response is checked against the template's OID bytes instead of
 * being decoded into OID strings; values come out as net-snmp gives them.
 * Pure functions: the socket side is fastGetChannel.ts.
 */

const TAG = {
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  sequence: 0x30,
  ipAddress: 0x40,
  counter32: 0x41,
  gauge32: 0x42,
  timeTicks: 0x43,
  opaque: 0x44,
  counter64: 0x46,
  noSuchObject: 0x80,
  noSuchInstance: 0x81,
  endOfMibView: 0x82,
  getRequest: 0xa0,
  getResponse: 0xa2,
} as const;

/** Request ids in this range always encode in exactly 4 bytes, so a template's lengths never change. */
export const MIN_REQUEST_ID = 0x01000000;
export const MAX_REQUEST_ID = 0x7fffffff;

const CODE = snmp.ResponseInvalidCode as Record<string, number>;

export interface GetRequestTemplate {
  /** The OIDs the template asks for, in order (a copy of the caller's list). */
  readonly oids: readonly string[];
  /** version 0 (v1) or 1 (v2c), as on the wire. */
  readonly version: number;
  readonly community: Buffer;
  /** The whole GetRequest message, request-id MIN_REQUEST_ID. */
  readonly message: Buffer;
  /** Offset of the 4 request-id bytes in `message`. */
  readonly idOffset: number;
  /** Per varbind: where its OID's content bytes start in `message`, and how many there are. */
  readonly oidStart: Uint32Array;
  readonly oidLength: Uint32Array;
}

/** A response that is not the GetResponse the template asked for (kind `protocol`). */
function invalid(message: string, code: number | undefined = CODE.EBadVarbindList): Error {
  return new snmp.ResponseInvalidError(message, code as number);
}

/** Reads BER tags and lengths from a datagram; every read is bounds-checked. */
class BerCursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    pos = 0,
  ) {
    this.pos = pos;
  }

  tag(end: number, what: string): number {
    if (this.pos >= end) throw invalid(`malformed message: truncated before ${what}`);
    return this.buf[this.pos++] as number;
  }

  /** Reads a length (its bytes before `end`) and returns where the content ends (never past `container`). */
  length(end: number, what: string, container = end): number {
    const b = this.buf;
    if (this.pos >= end) throw invalid(`malformed message: truncated length of ${what}`);
    let len = b[this.pos++] as number;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4) throw invalid(`malformed message: unsupported length form of ${what}`);
      if (this.pos + n > end) throw invalid(`malformed message: truncated length of ${what}`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (b[this.pos++] as number);
    }
    const contentEnd = this.pos + len;
    if (contentEnd > container) throw invalid(`malformed message: ${what} is longer than its container`);
    return contentEnd;
  }

  /** Tag `tag`, then a length: returns the content's end. */
  enter(tag: number, end: number, what: string): number {
    const t = this.tag(end, what);
    if (t !== tag) throw invalid(`malformed message: ${what} has tag 0x${t.toString(16)}, expected 0x${tag.toString(16)}`);
    return this.length(end, what);
  }

  /** A two's complement integer's content (as asn1-ber reads it); moves to `contentEnd`. */
  intContent(contentEnd: number, what: string): number {
    const b = this.buf;
    const len = contentEnd - this.pos;
    if (len < 1 || len > 6) throw invalid(`malformed message: ${what} is ${len} bytes long`);
    let v = ((b[this.pos] as number) << 24) >> 24;
    for (let i = this.pos + 1; i < contentEnd; i++) v = v * 256 + (b[i] as number);
    this.pos = contentEnd;
    return v;
  }

  int(end: number, what: string): number {
    const contentEnd = this.enter(TAG.integer, end, what);
    return this.intContent(contentEnd, what);
  }
}

/**
 * Encodes `oids` as a GetRequest for a community-based session, exactly as
 * net-snmp's Session.get does (its writer, its field order, Null values).
 */
export function encodeGetTemplate(version: number, community: string, oids: readonly string[]): GetRequestTemplate {
  if (version !== snmp.Version1 && version !== snmp.Version2c) throw new snmp.RequestInvalidError(`fast GET supports SNMP v1/v2c, not version ${version}`);
  const w = new ber.BerWriter();
  w.startSequence();
  w.writeInt(version, TAG.integer);
  w.writeString(community);
  w.startSequence(TAG.getRequest);
  w.writeInt(MIN_REQUEST_ID, TAG.integer);
  w.writeInt(0, TAG.integer);
  w.writeInt(0, TAG.integer);
  w.startSequence();
  for (const oid of oids) {
    w.startSequence();
    try {
      w.writeOID(oid);
    } catch (err) {
      throw new snmp.RequestInvalidError(`cannot encode OID "${oid}": ${err instanceof Error ? err.message : String(err)}`);
    }
    w.writeNull();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  // The writer's buffer is a view of a larger one: keep only the message.
  const message = Buffer.from(w.buffer);

  // Find the offsets by reading the message back, not by arithmetic on the writer.
  const c = new BerCursor(message);
  const end = c.enter(TAG.sequence, message.length, 'message');
  c.int(end, 'version');
  const communityEnd = c.enter(TAG.octetString, end, 'community');
  const communityBytes = Buffer.from(message.subarray(c.pos, communityEnd));
  c.pos = communityEnd;
  const pduEnd = c.enter(TAG.getRequest, end, 'pdu');
  const idEnd = c.enter(TAG.integer, pduEnd, 'request-id');
  const idOffset = c.pos;
  if (idEnd - idOffset !== 4) throw new Error(`fast GET: request-id encoded in ${idEnd - idOffset} bytes, expected 4`);
  c.pos = idEnd;
  c.int(pduEnd, 'error-status');
  c.int(pduEnd, 'error-index');
  const listEnd = c.enter(TAG.sequence, pduEnd, 'varbind list');
  const oidStart = new Uint32Array(oids.length);
  const oidLength = new Uint32Array(oids.length);
  for (let i = 0; i < oids.length; i++) {
    const vbEnd = c.enter(TAG.sequence, listEnd, 'varbind');
    const oidEnd = c.enter(TAG.oid, vbEnd, 'name');
    oidStart[i] = c.pos;
    oidLength[i] = oidEnd - c.pos;
    c.pos = vbEnd;
  }
  return { oids: [...oids], version, community: communityBytes, message, idOffset, oidStart, oidLength };
}

/** A copy of the template's message carrying `requestId` (MIN_REQUEST_ID..MAX_REQUEST_ID). */
export function requestMessage(t: GetRequestTemplate, requestId: number): Buffer {
  if (!(requestId >= MIN_REQUEST_ID && requestId <= MAX_REQUEST_ID)) throw new RangeError(`request-id ${requestId} does not encode in 4 bytes`);
  const out = Buffer.allocUnsafe(t.message.length);
  t.message.copy(out);
  out.writeUInt32BE(requestId, t.idOffset);
  return out;
}

/**
 * The request-id of a community-based message, or -1 when the datagram is too
 * broken to tell. Lenient on purpose: a response whose id matches a request
 * but whose body is malformed fails that request instead of being ignored.
 */
export function responseRequestId(msg: Buffer): number {
  try {
    const c = new BerCursor(msg);
    const end = msg.length;
    // The outer lengths may claim more than arrived (a truncated datagram).
    c.tag(end, 'message');
    c.length(end, 'message', Infinity);
    c.pos = c.enter(TAG.integer, end, 'version');
    c.pos = c.enter(TAG.octetString, end, 'community');
    c.tag(end, 'pdu');
    c.length(end, 'pdu', Infinity);
    return c.int(end, 'request-id');
  } catch {
    // not even the header of an SNMP message: the caller ignores it
    return -1;
  }
}

const ERROR_STATUS = snmp.ErrorStatus as Record<string | number, string | number>;

function requestFailed(t: GetRequestTemplate, status: number, index: number): Error {
  // The same message and status code net-snmp gives (status names, genErr for unknown ones).
  const name = (ERROR_STATUS[status] as string | undefined) ?? 'GeneralError';
  const code = ERROR_STATUS[name] as number;
  const oid = index >= 1 && index <= t.oids.length ? t.oids[index - 1] : undefined;
  return new snmp.RequestFailedError(oid === undefined ? name : `${name}: ${oid}`, code);
}

/** net-snmp's Reader.readOID, for OID-typed values. */
function oidString(b: Buffer, start: number, end: number): string {
  const values: number[] = [];
  let value = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i] as number;
    value <<= 7;
    value += byte & 0x7f;
    if ((byte & 0x80) === 0) {
      values.push(value >>> 0);
      value = 0;
    }
  }
  const first = values.shift() as number;
  return [(first / 40) >> 0, first % 40, ...values].join('.');
}

/**
 * Decodes a GetResponse to `t`. Throws net-snmp's errors so classification is
 * unchanged: RequestFailedError (error-status ≠ 0, e.g. tooBig),
 * ResponseInvalidError (wrong version, community, PDU type, OIDs or varbind
 * count, unknown value type, malformed bytes). Varbinds have the SnmpVarbind
 * shape: `oid` is the template's string, OctetString/Counter64/Opaque values
 * are views of `msg`, exceptions are marked with `problem` and value null.
 */
export function decodeGetResponse(t: GetRequestTemplate, msg: Buffer): SnmpVarbind[] {
  const c = new BerCursor(msg);
  const end = c.enter(TAG.sequence, msg.length, 'message');
  const version = c.int(end, 'version');
  if (version !== t.version) throw invalid(`Version in request '${t.version}' does not match version in response '${version}'`, CODE.EVersionNoMatch);
  const communityEnd = c.enter(TAG.octetString, end, 'community');
  if (msg.compare(t.community, 0, t.community.length, c.pos, communityEnd) !== 0) {
    throw invalid(`Community in request does not match community '${msg.toString('utf8', c.pos, communityEnd)}' in response`, CODE.ECommunityNoMatch);
  }
  c.pos = communityEnd;
  const pduType = c.tag(end, 'pdu');
  if (pduType !== TAG.getResponse) throw invalid(`Unknown PDU type '${pduType}' in response`, CODE.EUnknownPduType);
  const pduEnd = c.length(end, 'pdu');
  c.int(pduEnd, 'request-id');
  const errorStatus = c.int(pduEnd, 'error-status');
  const errorIndex = c.int(pduEnd, 'error-index');
  if (errorStatus !== 0) throw requestFailed(t, errorStatus, errorIndex);

  const listEnd = c.enter(TAG.sequence, pduEnd, 'varbind list');
  const oids = t.oids;
  const tmpl = t.message;
  const n = oids.length;
  // Sized once: growing by push copies the array several times per PDU.
  const out = new Array<SnmpVarbind>(n);
  let i = 0;
  while (c.pos < listEnd) {
    if (i >= n) throw invalid(`Requested OIDs do not match response OIDs: more than ${n} varbinds in response`, CODE.EReqResOidNoMatch);
    const vbEnd = c.enter(TAG.sequence, listEnd, 'varbind');
    const oidEnd = c.enter(TAG.oid, vbEnd, 'varbind name');
    const len = oidEnd - c.pos;
    const at = t.oidStart[i] as number;
    let same = len === t.oidLength[i];
    for (let k = 0; same && k < len; k++) same = msg[c.pos + k] === tmpl[at + k];
    if (!same) throw invalid(`OID '${oids[i]}' in request at position '${i}' does not match OID in response`, CODE.EReqResOidNoMatch);
    c.pos = oidEnd;
    const type = c.tag(vbEnd, 'varbind value');
    const valueEnd = c.length(vbEnd, 'varbind value');
    const oid = oids[i] as string;
    switch (type) {
      case TAG.integer:
        out[i] = { oid, type, value: c.intContent(valueEnd, 'Integer value') };
        break;
      case TAG.counter32:
      case TAG.gauge32:
      case TAG.timeTicks:
        out[i] = { oid, type, value: c.intContent(valueEnd, 'unsigned value') >>> 0 };
        break;
      case TAG.counter64:
      case TAG.octetString:
      case TAG.opaque:
        out[i] = { oid, type, value: msg.subarray(c.pos, valueEnd) };
        break;
      case TAG.oid:
        if (valueEnd === c.pos) throw invalid(`empty OID value for '${oid}'`);
        out[i] = { oid, type, value: oidString(msg, c.pos, valueEnd) };
        break;
      case TAG.ipAddress:
        if (valueEnd - c.pos !== 4) throw invalid(`Length '${valueEnd - c.pos}' of IP address for '${oid}' is not 4`, CODE.EIp4AddressSize);
        out[i] = { oid, type, value: `${msg[c.pos]}.${msg[c.pos + 1]}.${msg[c.pos + 2]}.${msg[c.pos + 3]}` };
        break;
      case TAG.null:
        out[i] = { oid, type, value: null };
        break;
      case TAG.noSuchObject:
        out[i] = { oid, type, value: null, problem: 'noSuchObject' };
        break;
      case TAG.noSuchInstance:
        out[i] = { oid, type, value: null, problem: 'noSuchInstance' };
        break;
      case TAG.endOfMibView:
        out[i] = { oid, type, value: null, problem: 'endOfMibView' };
        break;
      default:
        throw invalid(`Unknown type '${type}' in response`, CODE.EUnknownObjectType);
    }
    c.pos = vbEnd;
    i++;
  }
  if (i !== n) throw invalid(`Requested OIDs do not match response OIDs: ${i} of ${n} varbinds in response`, CODE.EReqResOidNoMatch);
  return out;
}
