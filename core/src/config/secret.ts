import { inspect } from 'node:util';

const REDACTED = '<secret>';

/**
 * A credential read from config. It prints as `<secret>` everywhere (string
 * conversion, JSON, util.inspect, pino) so a config dump or a log line can
 * never leak it; only `reveal()` hands out the value, at the point of use.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Names of `${VAR}` references that are unset and have no `:-default`. */
export function missingEnvRefs(raw: string, env: NodeJS.ProcessEnv): string[] {
  const missing: string[] = [];
  for (const m of raw.matchAll(ENV_REF)) {
    const name = m[1] as string;
    if (env[name] === undefined && m[2] === undefined) missing.push(name);
  }
  return missing;
}

/** Expands `${VAR}` and `${VAR:-default}`; only ever applied to secret fields. */
export function expandEnv(raw: string, env: NodeJS.ProcessEnv): string {
  return raw.replace(ENV_REF, (_all, name: string, fallback: string | undefined) => env[name] ?? fallback ?? '');
}
