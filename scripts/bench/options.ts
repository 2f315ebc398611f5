import { parseArgs } from 'node:util';
import { UsageError } from '../../src/process/script-error.ts';

export const PHASES = ['http', 'odm', 'migration', 'backup'] as const;
export type Phase = (typeof PHASES)[number];
/** The options of `npm run bench` (their meaning: docs/benchmarks.md's table). */
export type BenchOptions = ReturnType<typeof parseOptions>;

/**
 * The bench commands' flags, `strings` and `booleans` (names separated by spaces): parseArgs,
 * every mistake a UsageError showing `usage`; `number` reads a numeric flag in (0, max], rounded
 * unless `fraction`.
 */
export function parseFlags(argv: string[], strings: string, booleans: string, usage: string) {
  const options = Object.fromEntries([
    ...strings.split(' ').map((k) => [k, { type: 'string' as const }]),
    ...booleans
      .split(' ')
      .filter(Boolean)
      .map((k) => [k, { type: 'boolean' as const }]),
  ]);
  const number = (name: string, fallback: number, max: number, fraction = false): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!(value > 0 && value <= max)) {
      throw new UsageError(`--${name} must be a number above 0 and at most ${max} (${usage})`);
    }
    return fraction ? value : Math.round(value);
  };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (${usage})`);
  }
  return { values, number };
}

const USAGE =
  'usage: npm run bench -- [--scale N] [--duration S] [--warmup S] [--warmup-requests N] [--connections N] ' +
  '[--migration-docs N] [--pool-size N] [--rounds N] [--profile] [--floor] ' +
  '[--odm-iterations N] [--odm-rounds N] [--odm-warmup N] ' +
  '[--only http,odm,migration,backup] [--keep] [--check]';

const NUMERIC =
  'scale duration warmup connections warmup-requests migration-docs pool-size rounds odm-iterations odm-rounds odm-warmup';

export function parseOptions(argv: string[]) {
  const { values, number } = parseFlags(argv, `${NUMERIC} only`, 'profile floor keep check', USAGE);
  const only = String(values.only ?? PHASES.join(',')).split(',');
  if (only.some((p) => !(PHASES as readonly string[]).includes(p.trim()))) {
    throw new UsageError(`--only takes ${PHASES.join(', ')} (${USAGE})`);
  }
  return {
    /** undefined: chosen for the engine. */
    scale: values.scale === undefined ? undefined : number('scale', 1, 50, true),
    duration: number('duration', 10, 600, true),
    warmup: number('warmup', 3, 120, true),
    connections: number('connections', 10, 1000),
    warmupRequests: values['warmup-requests'] === '0' ? 0 : number('warmup-requests', 4000, 1e6),
    migrationDocs: number('migration-docs', 0, 20_000_000),
    poolSize: number('pool-size', 20, 500),
    rounds: number('rounds', 1, 20),
    profile: values.profile === true,
    floor: values.floor === true || values.check === true,
    odm: {
      iterations: number('odm-iterations', 200, 100_000),
      rounds: number('odm-rounds', 6, 50),
      warmup: number('odm-warmup', 1000, 1_000_000),
    },
    keep: values.keep === true,
    check: values.check === true,
    only: new Set(only.map((p) => p.trim() as Phase)) as ReadonlySet<Phase>,
  };
}
