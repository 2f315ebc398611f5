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

export { UsageError };

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`--${name} must be a number above 0 and at most ${max} (${USAGE})`);
  }
  return value;
}

export function parseOptions(argv: string[]): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        scale: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        'warmup-requests': { type: 'string' },
        connections: { type: 'string' },
        'migration-docs': { type: 'string' },
        'pool-size': { type: 'string' },
        rounds: { type: 'string' },
        profile: { type: 'boolean' },
        floor: { type: 'boolean' },
        'odm-iterations': { type: 'string' },
        'odm-rounds': { type: 'string' },
        'odm-warmup': { type: 'string' },
        only: { type: 'string' },
        keep: { type: 'boolean' },
        check: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (${USAGE})`);
  }
  const str = (k: string) => values[k] as string | undefined;
  const only = (str('only') ?? PHASES.join(',')).split(',').map((p) => p.trim());
  const unknown = only.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length || only.length === 0) {
    throw new UsageError(`--only takes ${PHASES.join(', ')} (${USAGE})`);
  }
  return {
    scale: str('scale') === undefined ? undefined : positive('scale', str('scale'), 1, 50),
    duration: positive('duration', str('duration'), 10, 600),
    warmup: positive('warmup', str('warmup'), 3, 120),
    connections: Math.round(positive('connections', str('connections'), 10, 1000)),
    warmupRequests:
      str('warmup-requests') === '0'
        ? 0
        : Math.round(positive('warmup-requests', str('warmup-requests'), 4000, 1_000_000)),
    migrationDocs:
      str('migration-docs') === undefined
        ? 0
        : Math.round(positive('migration-docs', str('migration-docs'), 0, 20_000_000)),
    poolSize: Math.round(positive('pool-size', str('pool-size'), 20, 500)),
    rounds: Math.round(positive('rounds', str('rounds'), 1, 20)),
    profile: values.profile === true,
    floor: values.floor === true || values.check === true,
    odm: {
      iterations: Math.round(positive('odm-iterations', str('odm-iterations'), 200, 100_000)),
      rounds: Math.round(positive('odm-rounds', str('odm-rounds'), 6, 50)),
      warmup: Math.round(positive('odm-warmup', str('odm-warmup'), 1000, 1_000_000)),
    },
    keep: values.keep === true,
    check: values.check === true,
    only: new Set(only as Phase[]),
  };
}
