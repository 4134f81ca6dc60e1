import type { BerWriter } from 'asn1-ber';
import snmp, { type RequestFailedError, type Varbind } from 'net-snmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_ID, MIN_REQUEST_ID, decodeGetResponse, encodeGetTemplate, requestMessage, responseRequestId } from './fastGet';
import { OIDS } from './oids';
import { classifySnmpError, isTooBig, type SnmpVarbind } from './snmpClient';
import { bytesValue as bytes, exceptionValue as exception, getResponse as response, intValue as int, startSnmpLoopback, type ResponseSpec, type SnmpLoopback, type ValueWriter } from './testing/snmpLoopback';

/*
 * The fast GET codec against net-snmp itself: a template must be the bytes
 * net-snmp sends (request-id aside), and a response must decode to what
 * net-snmp's session gives for the same bytes. A loopback socket plays the
 * agent; no agent logic is imitated, only the bytes under test are sent.
 */

const V2C = snmp.Version2c;
const V1 = snmp.Version1;

/** The OIDs of one poll PDU: sysUpTime.0, then in/out/oper/discontinuity of 14 interfaces. */
const POLL_OIDS = [OIDS.sysUpTime0, ...Array.from({ length: 14 }, (_v, i) => [OIDS.ifHCInOctets, OIDS.ifHCOutOctets, OIDS.ifOperStatus, OIDS.ifCounterDiscontinuityTime].map((c) => `${c}.${1000 + i}`)).flat()];

/** What net-snmp's own session makes of a response: its varbinds or its error. */
async function netSnmpGet(version: number, oids: string[], reply: (id: number) => Buffer): Promise<{ err: Error | null; varbinds: Varbind[] }> {
  const agent = await startSnmpLoopback((id) => [reply(id)]);
  const session = snmp.createSession('127.0.0.1', 'public', { port: agent.port, version, retries: 0, timeout: 5000 });
  try {
    return await new Promise((resolve) => session.get(oids, (err, varbinds) => resolve({ err, varbinds })));
  } finally {
    session.close();
    agent.close();
  }
}

/** Our varbinds without the `problem` mark, which net-snmp's raw varbinds do not carry. */
function raw(vbs: SnmpVarbind[]): Varbind[] {
  return vbs.map(({ oid, type, value }) => ({ oid, type, value }));
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('encodeGetTemplate', () => {
  let agent: SnmpLoopback;
  beforeAll(async () => {
    agent = await startSnmpLoopback();
  });
  afterAll(() => agent.close());

  /** The GetRequest net-snmp sends for `oids`, with a request-id that encodes in 4 bytes. */
  async function netSnmpRequest(version: number, community: string, oids: string[]): Promise<Buffer> {
    const session = snmp.createSession('127.0.0.1', community, { port: agent.port, version, retries: 0, timeout: 60000 });
    try {
      // net-snmp draws ids below 10^8; most of them take 4 bytes.
      for (;;) {
        const next = agent.nextRequest();
        session.get(oids, () => undefined);
        const sent = await next;
        if (responseRequestId(sent) >= MIN_REQUEST_ID) return sent;
      }
    } finally {
      session.close();
    }
  }

  it.each([
    ['v2c, sysUpTime.0', V2C, 'public', [OIDS.sysUpTime0]],
    ['v2c, a 57-varbind poll PDU (long-form lengths)', V2C, 'public', POLL_OIDS],
    ['v1, a 57-varbind poll PDU', V1, 'public', POLL_OIDS],
    ['v2c, a 200-character community and large sub-identifiers', V2C, 'c'.repeat(200), ['1.3.6.1.4.1.2636.3.1.13.1.8.9.1.0.0', '1.3.6.1.2.1.31.1.1.1.6.4294967295', '1.3.6.1.2.1.2.2.1.10.268435456']],
  ])('%s: the same bytes net-snmp sends, apart from the request-id', async (_label, version, community, oids) => {
    const sent = await netSnmpRequest(version, community, oids);
    const template = encodeGetTemplate(version, community, oids);
    expect(requestMessage(template, responseRequestId(sent))).toEqual(sent);
  });

  it('a request differs from its template only in the 4 request-id bytes', () => {
    const t = encodeGetTemplate(V2C, 'public', POLL_OIDS);
    const a = requestMessage(t, MIN_REQUEST_ID + 1);
    const b = requestMessage(t, MAX_REQUEST_ID);
    expect(a.length).toBe(t.message.length);
    const differing = [...a.keys()].filter((i) => a[i] !== b[i]);
    expect(differing.every((i) => i >= t.idOffset && i < t.idOffset + 4)).toBe(true);
    expect(responseRequestId(a)).toBe(MIN_REQUEST_ID + 1);
    expect(responseRequestId(b)).toBe(MAX_REQUEST_ID);
    // The template itself is never written to.
    expect(responseRequestId(t.message)).toBe(MIN_REQUEST_ID);
  });

  it.each([MIN_REQUEST_ID - 1, MAX_REQUEST_ID + 1, 0, 1.5])('refuses request-id %s, which would not take exactly 4 bytes', (id) => {
    const t = encodeGetTemplate(V2C, 'public', [OIDS.sysUpTime0]);
    expect(() => requestMessage(t, id)).toThrow(RangeError);
  });

  it.each([
    ['a malformed OID', V2C, ['1.3.6.x.1']],
    ['SNMP v3', snmp.Version3, [OIDS.sysUpTime0]],
  ])('%s is a protocol error (RequestInvalidError), as in net-snmp', (_label, version, oids) => {
    const err = thrown(() => encodeGetTemplate(version, 'public', oids));
    expect(err).toBeInstanceOf(snmp.RequestInvalidError);
    expect(classifySnmpError(err)).toBe('protocol');
  });
});

describe('decodeGetResponse', () => {
  const oids = [OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.7`];
  const template = encodeGetTemplate(V2C, 'public', oids);
  const answer = (value: ValueWriter, id = MIN_REQUEST_ID, extra: Partial<ResponseSpec> = {}) =>
    response({ id, varbinds: [{ oid: oids[0] as string, value: int(4242, 0x43) }, { oid: oids[1] as string, value }], ...extra });

  it.each<[string, ValueWriter, string | undefined]>([
    ['Integer 0', int(0), undefined],
    ['Integer -5', int(-5), undefined],
    ['Integer 2147483647', int(2147483647), undefined],
    ['Integer -2147483648', int(-2147483648), undefined],
    ['Counter32 0', int(0, 0x41), undefined],
    ['Counter32 4294967295 (5 bytes, leading zero)', int(4294967295, 0x41), undefined],
    ['Gauge32 3000000000', int(3000000000, 0x42), undefined],
    ['TimeTicks 123456', int(123456, 0x43), undefined],
    ['Counter64, 8 bytes', bytes(Buffer.from('0123456789abcdef', 'hex'), 0x46), undefined],
    ['Counter64, 9 bytes (≥ 2^63)', bytes(Buffer.from('00ffffffffffffffff', 'hex'), 0x46), undefined],
    ['Counter64, 1 byte', bytes([5], 0x46), undefined],
    ['OctetString', (w) => w.writeString('ether2.10'), undefined],
    ['OctetString, empty', bytes([], 0x04), undefined],
    ['OctetString, binary', bytes([0, 0xff, 0x80], 0x04), undefined],
    ['OID', (w) => w.writeOID('1.3.6.1.4.1.8072.3.2.10'), undefined],
    ['OID, large sub-identifiers', (w) => w.writeOID('1.3.6.1.4.1.2636.268435456.16384.128'), undefined],
    ['IpAddress', bytes([10, 0, 0, 254], 0x40), undefined],
    ['Null', (w) => w.writeNull(), undefined],
    ['Opaque', bytes([0x9f, 0x78, 0x04, 0x42, 0xf6, 0x00, 0x00], 0x44), undefined],
    ['noSuchObject', exception(0x80), 'noSuchObject'],
    ['noSuchInstance', exception(0x81), 'noSuchInstance'],
    ['endOfMibView', exception(0x82), 'endOfMibView'],
  ])('%s decodes to what net-snmp gives', async (_label, value, problem) => {
    const ours = decodeGetResponse(template, answer(value));
    const theirs = await netSnmpGet(V2C, oids, (id) => answer(value, id));
    expect(theirs.err).toBeNull();
    expect(raw(ours)).toEqual(theirs.varbinds);
    expect(ours[1]?.problem).toBe(problem);
    expect(ours[0]?.problem).toBeUndefined();
    // No new OID strings: the requested ones are handed back.
    expect(ours.map((v) => v.oid)).toEqual(oids);
  });

  it('a v1 response decodes like net-snmp too', async () => {
    const t1 = encodeGetTemplate(V1, 'public', oids);
    const msg = (id: number) => answer(int(77, 0x41), id, { version: V1 });
    const theirs = await netSnmpGet(V1, oids, msg);
    expect(raw(decodeGetResponse(t1, msg(MIN_REQUEST_ID)))).toEqual(theirs.varbinds);
  });

  it.each([
    ['tooBig, no varbinds', 1, 0, []],
    ['noSuchName at index 2', 2, 2, oids],
    ['genErr at an index past the list', 5, 9, oids],
  ])('error-status %s: net-snmp\'s RequestFailedError, same message and status', async (_label, errorStatus, errorIndex, vbOids) => {
    const msg = (id: number) => response({ id, errorStatus, errorIndex, varbinds: vbOids.map((oid) => ({ oid, value: (w: BerWriter) => w.writeNull() })) });
    const ours = thrown(() => decodeGetResponse(template, msg(MIN_REQUEST_ID)));
    const theirs = await netSnmpGet(V2C, oids, msg);
    expect(ours).toBeInstanceOf(snmp.RequestFailedError);
    expect(theirs.err).toBeInstanceOf(snmp.RequestFailedError);
    expect((ours as RequestFailedError).status).toBe((theirs.err as RequestFailedError).status);
    expect((ours as Error).message).toBe((theirs.err as Error).message);
    expect(classifySnmpError(ours)).toBe('agent');
    expect(isTooBig(ours)).toBe(errorStatus === 1);
  });

  it('an unknown error-status is genErr (net-snmp turns the status into a string there)', () => {
    const err = thrown(() => decodeGetResponse(template, response({ id: 1 << 24, errorStatus: 99, errorIndex: 2, varbinds: [] })));
    expect(err).toBeInstanceOf(snmp.RequestFailedError);
    expect((err as RequestFailedError).status).toBe(snmp.ErrorStatus.GeneralError);
    expect((err as Error).message).toBe(`GeneralError: ${oids[1]}`);
    expect(classifySnmpError(err)).toBe('agent');
  });

  const sysUp = { oid: OIDS.sysUpTime0, value: int(1, 0x43) };
  const counter = (oid: string) => ({ oid, value: bytes([1], 0x46) });
  it.each<[string, Buffer]>([
    ['an OID that differs from the request', response({ id: 1 << 24, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.8`)] })],
    ['an OID with the requested one as prefix', response({ id: 1 << 24, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7.0`)] })],
    ['fewer varbinds than requested', response({ id: 1 << 24, varbinds: [sysUp] })],
    ['more varbinds than requested', response({ id: 1 << 24, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7`), counter(`${OIDS.ifHCInOctets}.7`)] })],
    ['a GetRequest instead of a GetResponse', response({ id: 1 << 24, pduType: 0xa0, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7`)] })],
    ['a Report PDU', response({ id: 1 << 24, pduType: 0xa8, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7`)] })],
    ['another community', response({ id: 1 << 24, community: 'private', varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7`)] })],
    ['another version', response({ id: 1 << 24, version: V1, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7`)] })],
    ['a BitString value (not an SMI type)', response({ id: 1 << 24, varbinds: [sysUp, { oid: `${OIDS.ifHCInOctets}.7`, value: bytes([0, 1], 0x03) }] })],
    ['an IpAddress of 3 bytes', response({ id: 1 << 24, varbinds: [sysUp, { oid: `${OIDS.ifHCInOctets}.7`, value: bytes([10, 0, 1], 0x40) }] })],
    ['an Integer of 7 bytes', response({ id: 1 << 24, varbinds: [sysUp, { oid: `${OIDS.ifHCInOctets}.7`, value: bytes([1, 2, 3, 4, 5, 6, 7], 0x02) }] })],
    ['an empty Integer', response({ id: 1 << 24, varbinds: [sysUp, { oid: `${OIDS.ifHCInOctets}.7`, value: bytes([], 0x02) }] })],
    ['an empty OID value', response({ id: 1 << 24, varbinds: [sysUp, { oid: `${OIDS.ifHCInOctets}.7`, value: bytes([], 0x06) }] })],
    ['an indefinite length', Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00])],
    ['a 5-byte length', Buffer.from([0x30, 0x85, 0, 0, 0, 0, 3, 0x02, 0x01, 0x01])],
    ['a varbind longer than its list', (() => {
      const ok = response({ id: 1 << 24, varbinds: [sysUp, counter(`${OIDS.ifHCInOctets}.7`)] });
      // The last varbind sequence claims 0x7f bytes.
      const at = ok.lastIndexOf(0x30);
      ok[at + 1] = 0x7f;
      return ok;
    })()],
    ['not a sequence', Buffer.from('hello, world')],
    ['an empty datagram', Buffer.alloc(0)],
  ])('%s is a protocol error (ResponseInvalidError)', (_label, msg) => {
    const err = thrown(() => decodeGetResponse(template, msg));
    expect(err).toBeInstanceOf(snmp.ResponseInvalidError);
    expect(classifySnmpError(err)).toBe('protocol');
  });

  it('every truncation of a poll response is a protocol error, never another exception', () => {
    const t = encodeGetTemplate(V2C, 'public', POLL_OIDS);
    const full = response({
      id: 0x12345678,
      varbinds: POLL_OIDS.map((oid, i) => ({ oid, value: i === 0 ? int(99999, 0x43) : i % 4 === 3 ? int(1) : i % 4 === 0 ? int(0, 0x43) : bytes(Buffer.alloc(8, i), 0x46) })),
    });
    expect(decodeGetResponse(t, full)).toHaveLength(POLL_OIDS.length);
    for (let len = 0; len < full.length; len++) {
      const cut = full.subarray(0, len);
      const err = thrown(() => decodeGetResponse(t, cut));
      expect(err, `cut at ${len}`).toBeInstanceOf(snmp.ResponseInvalidError);
      const id = responseRequestId(cut);
      expect([-1, 0x12345678]).toContain(id);
    }
  });

  it('random and corrupted datagrams give net-snmp errors or varbinds, never another exception', () => {
    // A fixed-seed generator: the same 2,000 datagrams every run.
    let seed = 0x2f6b1d3;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const t = encodeGetTemplate(V2C, 'public', oids);
    const valid = answer(bytes(Buffer.alloc(8, 3), 0x46));
    const outcomes = { decoded: 0, protocol: 0, agent: 0 };
    for (let k = 0; k < 2000; k++) {
      const msg = k % 2 === 0 ? Buffer.from(Array.from({ length: rand(120) }, () => rand(256))) : Buffer.from(valid);
      if (k % 2 === 1) for (let flips = 1 + rand(3); flips > 0; flips--) msg[rand(msg.length)] = rand(256);
      expect(() => responseRequestId(msg)).not.toThrow();
      try {
        decodeGetResponse(t, msg);
        outcomes.decoded++;
      } catch (err) {
        expect(err instanceof snmp.ResponseInvalidError || err instanceof snmp.RequestFailedError, String(err)).toBe(true);
        outcomes[classifySnmpError(err) as 'protocol' | 'agent']++;
      }
    }
    expect(outcomes.protocol).toBeGreaterThan(0);
    expect(outcomes.decoded + outcomes.protocol + outcomes.agent).toBe(2000);
  });

  it('responseRequestId reads the id of a header whose body is cut off, and -1 for non-SNMP bytes', () => {
    const full = answer(bytes([1], 0x46), 0x23456789);
    expect(responseRequestId(full)).toBe(0x23456789);
    const idEnd = full.indexOf(Buffer.from([0x02, 0x04, 0x23, 0x45, 0x67, 0x89])) + 6;
    expect(responseRequestId(full.subarray(0, idEnd))).toBe(0x23456789);
    expect(responseRequestId(full.subarray(0, idEnd - 1))).toBe(-1);
    expect(responseRequestId(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(-1);
  });
});
