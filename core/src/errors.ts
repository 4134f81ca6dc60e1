/**
 * Error kinds that metrics and retry policies act on. Adapters wrap low-level
 * failures in KindedError with context (`device edge-1: poll ifHCInOctets`)
 * and the original as `cause`.
 */
export type ErrorKind = 'timeout' | 'auth' | 'protocol' | 'agent' | 'storage' | 'config' | 'input' | 'provider' | 'internal';

export class KindedError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KindedError';
    this.kind = kind;
  }
}

export function errorKind(err: unknown): ErrorKind {
  return err instanceof KindedError ? err.kind : 'internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
