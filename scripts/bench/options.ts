import { parseArgs } from 'node:util';
import { UsageError } from '../../src/process/script-error.ts';

export const PHASES = ['http', 'odm', 'migration', 'backup'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  /** Dataset size relative to 10k users / 200k posts; undefined: chosen for the engine. */
  scale: number | undefined;
  /** Seconds of each measured throughput run, after `warmup` seconds of discarded load. */
  duration: number;
  warmup: number;
  connections: number;
  /** Requests each server gets per endpoint before its first measured run (0: none). */
  warmupRequests: number;
  /** Documents for the migration measurement; 0: the posts collection as seeded. */
  migrationDocs: number;
  poolSize: number;
  /** API and baseline runs per read endpoint, taking turns; figures are combined over them. */
  rounds: number;
  /** Also record a CPU profile of each server per endpoint (an extra, unmeasured run each). */
  profile: boolean;
  /**
   * Also measure the reads on bare Express routes (express-floor.ts): Express's own share.
   * On with --check, whose API-over-Express target needs it.
   */
  floor: boolean;
  /** The Mongoose-vs-driver micro-benchmark (odm.ts): operations per side and round, rounds, warm-up. */
  odm: { iterations: number; rounds: number; warmup: number };
  /** Keep the bench database afterwards (it is dropped by default). */
  keep: boolean;
  /** Exit 1 when a target fails (the run itself succeeding is not enough). */
  check: boolean;
  /** The parts to run (all by default); the others' targets are reported as SKIP. */
  only: ReadonlySet<Phase>;
}

const USAGE =
  'usage: npm run bench -- [--scale N] [--duration S] [--warmup S] [--warmup-requests N] [--connections N] ' +
  '[--migration-docs N] [--pool-size N] [--rounds N] [--profile] [--floor] ' +
  '[--odm-iterations N] [--odm-rounds N] [--odm-warmup N] ' +
  '[--only http,odm,migration,backup] [--keep] [--check]';

/** The numeric flags: default and maximum (each must be above 0; --warmup-requests may be 0). */
const NUMERIC: Record<string, [fallback: number, max: number]> = {
  scale: [Number.NaN, 50],
  duration: [10, 600],
  warmup: [3, 120],
  connections: [10, 1000],
  'warmup-requests': [4000, 1_000_000],
  'migration-docs': [0, 20_000_000],
  'pool-size': [20, 500],
  rounds: [1, 20],
  'odm-iterations': [200, 100_000],
  'odm-rounds': [6, 50],
  'odm-warmup': [1000, 1_000_000],
};
/** Flags that may be fractions; the others are counts, rounded. */
const FRACTIONS = new Set(['scale', 'duration', 'warmup']);

export function parseOptions(argv: string[]): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    const numeric = Object.fromEntries(Object.keys(NUMERIC).map((k) => [k, { type: 'string' }]));
    const flags = Object.fromEntries(
      ['profile', 'floor', 'keep', 'check'].map((k) => [k, { type: 'boolean' }]),
    );
    const options = { ...numeric, ...flags, only: { type: 'string' } } as const;
    ({ values } = parseArgs({ args: argv, strict: true, options }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (${USAGE})`);
  }
  const n = (name: string): number => {
    const raw = values[name] as string | undefined;
    const [fallback, max] = NUMERIC[name] as [number, number];
    if (raw === undefined) return fallback;
    if (raw === '0' && name === 'warmup-requests') return 0;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || value > max) {
      throw new UsageError(`--${name} must be a number above 0 and at most ${max} (${USAGE})`);
    }
    return FRACTIONS.has(name) ? value : Math.round(value);
  };
  const only = ((values.only as string | undefined) ?? PHASES.join(','))
    .split(',')
    .map((p) => p.trim());
  if (only.some((p) => !(PHASES as readonly string[]).includes(p))) {
    throw new UsageError(`--only takes ${PHASES.join(', ')} (${USAGE})`);
  }
  return {
    scale: values.scale === undefined ? undefined : n('scale'),
    duration: n('duration'),
    warmup: n('warmup'),
    connections: n('connections'),
    warmupRequests: n('warmup-requests'),
    migrationDocs: n('migration-docs'),
    poolSize: n('pool-size'),
    rounds: n('rounds'),
    profile: values.profile === true,
    floor: values.floor === true || values.check === true,
    odm: { iterations: n('odm-iterations'), rounds: n('odm-rounds'), warmup: n('odm-warmup') },
    keep: values.keep === true,
    check: values.check === true,
    only: new Set(only as Phase[]),
  };
}
