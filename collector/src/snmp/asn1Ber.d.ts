/*
 * Types for the part of npm `asn1-ber` (net-snmp's BER library, no bundled
 * typings) that fastGet.ts uses to encode GetRequest templates (and its tests, to
 * craft responses).
 */
declare module 'asn1-ber' {
  export class BerWriter {
    constructor(options?: { size?: number; growthFactor?: number });
    /** The encoded bytes so far (a view of the writer's buffer); throws while a sequence is open. */
    readonly buffer: Buffer;
    writeInt(value: number, tag?: number): void;
    writeString(value: string, tag?: number): void;
    writeOID(oid: string, tag?: number): void;
    /** With `tag`, writes tag and length first; without, `buf` must already hold them. */
    writeBuffer(buf: Buffer, tag?: number): void;
    writeByte(b: number): void;
    writeNull(): void;
    startSequence(tag?: number): void;
    endSequence(): void;
  }

  const ber: { BerWriter: typeof BerWriter };
  export default ber;
}
