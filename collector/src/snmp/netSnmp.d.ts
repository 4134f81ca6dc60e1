/*
 * Types for the parts of npm `net-snmp` (3.x, no bundled typings) that the
 * collector's SNMP client and the simulator's agent use. One ambient module
 * for the whole program: a second `declare module 'net-snmp'` elsewhere would
 * merge with this one and clash.
 */
declare module 'net-snmp' {
  import type * as dgram from 'node:dgram';

  export interface Varbind {
    oid: string;
    type: number;
    value: unknown;
  }

  export interface SessionOptions {
    port?: number;
    retries?: number;
    timeout?: number;
    backoff?: number;
    transport?: 'udp4' | 'udp6';
    version?: number;
    idBitsSize?: 16 | 32;
    context?: string;
    backwardsGetNexts?: boolean;
    reportOidMismatchErrors?: boolean;
    sourceAddress?: string;
    dgramModule?: typeof dgram;
  }

  export interface User {
    name: string;
    level: number;
    authProtocol?: string;
    authKey?: string;
    privProtocol?: string;
    privKey?: string;
  }

  export type ResponseCallback = (error: Error | null, varbinds: Varbind[]) => void;
  /** getBulk: the first nonRepeaters entries are varbinds, the rest arrays of repetitions. */
  export type BulkCallback = (error: Error | null, varbinds: Array<Varbind | Varbind[]>) => void;

  export interface Session {
    get(oids: string[], callback: ResponseCallback): void;
    getNext(oids: string[], callback: ResponseCallback): void;
    getBulk(oids: string[], nonRepeaters: number, maxRepetitions: number, callback: BulkCallback): void;
    close(): void;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }

  export interface MibRequest {
    operation: number;
    oid: string;
    address: number[];
    instanceNode: { value: unknown; valueType: number };
    done(error?: { errorStatus: number; type?: number; value?: unknown }): void;
  }

  export interface TableColumn {
    number: number;
    name: string;
    type: number;
    maxAccess: number;
  }

  export interface ProviderDefinition {
    name: string;
    type: number;
    oid: string;
    maxAccess: number;
    scalarType?: number;
    tableColumns?: TableColumn[];
    tableIndex?: Array<{ columnName: string; foreign?: string }>;
    tableAugments?: string;
    handler?: (req: MibRequest) => void;
  }

  export interface Mib {
    registerProvider(def: ProviderDefinition): void;
    setScalarValue(name: string, value: unknown): void;
    addTableRow(name: string, row: unknown[]): void;
    deleteTableRow(name: string, index: unknown[]): boolean;
    setTableSingleCell(name: string, column: number, index: unknown[], value: unknown): void;
  }

  export interface Authorizer {
    addCommunity(community: string): void;
    addUser(user: User): void;
  }

  export interface AgentOptions {
    port?: number;
    address?: string | null;
    transport?: 'udp4' | 'udp6';
    engineID?: string;
    disableAuthorization?: boolean;
  }

  export interface Agent {
    getMib(): Mib;
    getAuthorizer(): Authorizer;
    close(callback?: () => void): void;
    /** Internal entry point for every datagram; the simulator wraps it to inject faults. */
    onMsg(socket: unknown, buffer: Buffer, rinfo: unknown): void;
    listener: { sockets?: Record<string, dgram.Socket> };
  }

  export class RequestTimedOutError extends Error {
    constructor(message: string);
  }
  export class RequestFailedError extends Error {
    constructor(message: string, status: number);
    status: number;
  }
  export class ResponseInvalidError extends Error {
    constructor(message: string, code: number, info?: unknown);
    code: number;
  }
  export class RequestInvalidError extends Error {
    constructor(message: string);
  }

  export const Version1: number;
  export const Version2c: number;
  export const Version3: number;
  export const ObjectType: Record<string, number>;
  export const ErrorStatus: Record<string, number>;
  export const SecurityLevel: { noAuthNoPriv: number; authNoPriv: number; authPriv: number };
  export const AuthProtocols: Record<'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512', string>;
  export const PrivProtocols: Record<'des' | 'aes' | 'aes256b' | 'aes256r', string>;
  export const ResponseInvalidCode: Record<string, number>;
  export const MibProviderType: { Scalar: number; Table: number };
  export const MaxAccess: Record<string, number>;

  export function createSession(target: string, community: string, options?: SessionOptions): Session;
  export function createV3Session(target: string, user: User, options?: SessionOptions): Session;
  export function createAgent(options: AgentOptions, callback: (error: Error | null, data: unknown) => void): Agent;
  export function isVarbindError(varbind: Varbind): boolean;
  export function varbindError(varbind: Varbind): string;

  const snmp: {
    Version1: number;
    Version2c: number;
    Version3: number;
    ObjectType: Record<string, number>;
    ErrorStatus: Record<string, number>;
    SecurityLevel: { noAuthNoPriv: number; authNoPriv: number; authPriv: number };
    AuthProtocols: Record<'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512', string>;
    PrivProtocols: Record<'des' | 'aes' | 'aes256b' | 'aes256r', string>;
    ResponseInvalidCode: Record<string, number>;
    MibProviderType: { Scalar: number; Table: number };
    MaxAccess: Record<string, number>;
    RequestTimedOutError: typeof RequestTimedOutError;
    RequestFailedError: typeof RequestFailedError;
    ResponseInvalidError: typeof ResponseInvalidError;
    RequestInvalidError: typeof RequestInvalidError;
    createSession: typeof createSession;
    createV3Session: typeof createV3Session;
    createAgent: typeof createAgent;
    isVarbindError: typeof isVarbindError;
    varbindError: typeof varbindError;
  };
  export default snmp;
}
