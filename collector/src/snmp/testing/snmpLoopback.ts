import dgram from 'node:dgram';
import { once } from 'node:events';
import ber, { type BerWriter } from 'asn1-ber';
import snmp from 'net-snmp';
import { responseRequestId } from '../fastGet';

/*
 * Test support for the fast GET path: a loopback UDP "agent" whose answers
 * the test scripts byte by byte, and a writer for community-based responses
 * (net-snmp's own BER writer, so the bytes are what a real agent could send).
 * It imitates no agent logic; real agents are the simulator and snmpd.
 */

export type ValueWriter = (w: BerWriter) => void;

export interface ResponseSpec {
  /** net-snmp's Version1 / Version2c (default v2c). */
  version?: number;
  community?: string;
  /** 0xa2 GetResponse by default. */
  pduType?: number;
  id: number;
  errorStatus?: number;
  errorIndex?: number;
  varbinds: Array<{ oid: string; value: ValueWriter }>;
}

export function getResponse(r: ResponseSpec): Buffer {
  const w = new ber.BerWriter();
  w.startSequence();
  w.writeInt(r.version ?? snmp.Version2c);
  w.writeString(r.community ?? 'public');
  w.startSequence(r.pduType ?? 0xa2);
  w.writeInt(r.id);
  w.writeInt(r.errorStatus ?? 0);
  w.writeInt(r.errorIndex ?? 0);
  w.startSequence();
  for (const vb of r.varbinds) {
    w.startSequence();
    w.writeOID(vb.oid);
    vb.value(w);
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return Buffer.from(w.buffer);
}

/** An INTEGER-encoded value: Integer (default), Counter32 0x41, Gauge32 0x42, TimeTicks 0x43. */
export const intValue =
  (v: number, tag = 0x02): ValueWriter =>
  (w) =>
    w.writeInt(v, tag);

/** A value given as its content bytes: OctetString 0x04, IpAddress 0x40, Counter64 0x46, … */
export const bytesValue =
  (b: Buffer | number[], tag: number): ValueWriter =>
  (w) =>
    w.writeBuffer(Buffer.from(b), tag);

/** noSuchObject 0x80, noSuchInstance 0x81, endOfMibView 0x82. */
export const exceptionValue =
  (tag: number): ValueWriter =>
  (w) => {
    w.writeByte(tag);
    w.writeByte(0);
  };

export interface SnmpLoopback {
  port: number;
  /** Every datagram received, in order. */
  requests: Buffer[];
  /** Resolves with the next datagram received. */
  nextRequest(): Promise<Buffer>;
  /** Sends raw bytes to whoever sent the last request. */
  answer(msg: Buffer): Promise<void>;
  /** Address and port the last request came from. */
  lastSender(): dgram.RemoteInfo;
  close(): void;
}

/**
 * Starts the loopback agent on 127.0.0.1. `reply` gets each request's id
 * (-1 when unreadable) and returns the datagrams to answer with, in order.
 */
export async function startSnmpLoopback(reply: (id: number, request: Buffer) => Buffer[] = () => []): Promise<SnmpLoopback> {
  const socket = dgram.createSocket('udp4');
  const requests: Buffer[] = [];
  let last: dgram.RemoteInfo | undefined;
  const send = (msg: Buffer, to: dgram.RemoteInfo) => new Promise<void>((resolve) => socket.send(msg, to.port, to.address, () => resolve()));
  socket.on('message', (msg, rinfo) => {
    requests.push(msg);
    last = rinfo;
    void (async () => {
      for (const out of reply(responseRequestId(msg), msg)) await send(out, rinfo);
    })();
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    requests,
    nextRequest: async () => ((await once(socket, 'message')) as [Buffer])[0],
    answer: async (msg) => {
      if (!last) throw new Error('snmp loopback: no request received yet');
      await send(msg, last);
    },
    lastSender: () => {
      if (!last) throw new Error('snmp loopback: no request received yet');
      return last;
    },
    close: () => socket.close(),
  };
}
