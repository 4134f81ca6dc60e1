import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { crossCheckInventory, makeConfigSchema, type Config } from './schema';

export interface ConfigProblem {
  /** YAML path as operators read it: `inventory.isps[0].resellers[2].committed_mbps`. */
  path: string;
  message: string;
  line?: number;
}

/** A config that cannot be used. `problems` holds one entry per thing to fix. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    super(`${file}: ${problems.length} problem(s)\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.path || '(root)'}: ${p.message}${p.line !== undefined ? ` (line ${p.line})` : ''}`;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

function lineOf(doc: Document, counter: LineCounter, path: ReadonlyArray<PropertyKey>): number | undefined {
  // Walk up until a node exists: a missing key is reported at its parent's line.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function issueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) return 'is required';
  return issue.message;
}

/** Parses and validates YAML text. Throws ConfigError naming every problem found. */
export function parseConfig(text: string, file = 'config.yaml', env: NodeJS.ProcessEnv = process.env): Config {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '(yaml)', message: e.message.split('\n')[0] ?? e.message, line: e.linePos?.[0]?.line })),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = makeConfigSchema(env).safeParse(raw);
  const problems: ConfigProblem[] = result.success
    ? []
    : result.error.issues.flatMap((issue): ConfigProblem[] => {
        const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
        return paths.map((p) => ({
          path: formatPath(p),
          message: issue.code === 'unrecognized_keys' ? `unknown key "${String(p[p.length - 1])}"` : issueMessage(issue, raw),
          line: lineOf(doc, counter, p),
        }));
      });
  for (const x of crossCheckInventory(raw)) {
    problems.push({ path: formatPath(x.path), message: x.message, line: lineOf(doc, counter, x.path) });
  }
  if (!result.success || problems.length > 0) throw new ConfigError(file, dedupe(problems));
  return result.data;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}` }]);
  }
  return parseConfig(text, file, env);
}

/** The config as YAML-ready plain data with every secret printed as `<secret>`. */
export function redactedConfig(config: Config): unknown {
  return JSON.parse(JSON.stringify(config)) as unknown;
}
