import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** V8's CPU profiler in this process at 100 µs (its default 1 ms gives too few samples). */
export async function startProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
  };
}

/** A V8 CPU profile (.cpuprofile), as the inspector's Profiler.stop returns it. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
}

/** CPU time per request attributed to a category, in microseconds. */
export type CostShare = { category: string; micros: number };

// Which part of the request's way each package is (a scoped package by its scope).
const CATEGORIES: [string, string][] = [
  [
    'logging (pino)',
    `pino pino-http pino-std-serializers sonic-boom @pinojs fast-redact quick-format-unescaped
    safe-stable-stringify thread-stream atomic-sleep on-exit-leak-free`,
  ],
  ['security headers (helmet)', 'helmet'],
  ['CORS', 'cors vary'],
  ['rate limiting', 'express-rate-limit'],
  ['body parsing', 'body-parser raw-body type-is content-type media-typer iconv-lite'],
  ['ETag and freshness (express res.send)', 'etag fresh'],
  ['validation (zod)', 'zod @asteasolutions'],
  ['token check (jose)', 'jose'],
  ['Mongoose', 'mongoose mquery mpath sift kareem'],
  ['MongoDB driver and BSON', 'mongodb bson @mongodb-js mongodb-connection-string-url'],
  [
    'Express (routing, request and response)',
    `express router path-to-regexp finalhandler on-finished ee-first parseurl proxy-addr forwarded
    ipaddr.js accepts negotiator mime-types mime-db statuses http-errors depd debug ms encodeurl
    escape-html merge-descriptors setprototypeof send serve-static cookie range-parser qs
    content-disposition is-promise safe-buffer`,
  ],
];
const CATEGORY_OF_PACKAGE = new Map(
  CATEGORIES.flatMap(([category, names]) => names.split(/\s+/).map((n) => [n, category])),
);
const OURS: [RegExp, string][] = [
  [/\/src\/http\/route\.ts/, 'app: route helper (src/http/route.ts)'],
  [/\/src\/([a-z-]+)\//, 'app: src/$1'],
  [/\/src\/([a-z-]+\.ts)/, 'app: src/$1'],
  [/\/scripts\/bench\//, 'baseline server code'],
];

// Native functions without a URL worth their own line wherever they are called from.
const BUILTINS: Record<string, string> = { stringify: 'JSON.stringify', parse: 'JSON.parse' };

// With `mongooseParts`, Mongoose's own frames by what they do, to see which of its steps a read
// pays for; the first match on "url:function" wins, checked from the innermost frame outwards.
const MONGOOSE_PARTS: [RegExp, string][] = [
  [/mongoose\/lib\/helpers\/query\/sanitizeFilter/, 'Mongoose: sanitizeFilter'],
  [/mongoose\/lib\/(cast\.js|cast\/|schemaType\.js|schema\/)/, 'Mongoose: casting (strictQuery)'],
  [
    /kareem\/|mongoose\/lib\/helpers\/buildMiddlewareFilter|:(_executePreHooks|_executePostHooks|execPre|execPost)$/,
    'Mongoose: hooks',
  ],
  [
    /mongoose\/lib\/helpers\/populate\/(assign|lookupLocalFields)|mongoose\/lib\/model\.js:_assign$/,
    'Mongoose: populate, assigning the results',
  ],
  [
    /mongoose\/lib\/helpers\/populate\/|mongoose\/lib\/options\/populateOptions|:(_populatePath|populate|_execPopulateQuery|preparePopulationOptionsMQ|_done)$/,
    'Mongoose: populate, planning',
  ],
  [
    /mongoose\/lib\/helpers\/(clone|get)\.js|:clonePOJOsAndArrays$|mpath\//,
    'Mongoose: cloning options, reading paths',
  ],
  [/:_completeManyLean$/, 'Mongoose: lean transforms'],
  [
    /mongoose\/lib\/(query\.js|queryHelpers\.js|model\.js|schema\.js|utils\.js|helpers\/query|helpers\/projection)|mquery\//,
    'Mongoose: building and running queries',
  ],
  [/node_modules\/mongoose\//, 'Mongoose: other (connection, start-up)'],
];

function categoryOf(
  frame: { functionName: string; url: string },
  mongooseParts = false,
): string | undefined {
  if (mongooseParts && /node_modules\/(mongoose|mquery|mpath|kareem)\//.test(frame.url)) {
    const key = `${frame.url}:${frame.functionName}`;
    return MONGOOSE_PARTS.find(([pattern]) => pattern.test(key))?.[1];
  }
  if (frame.functionName === '(garbage collector)') return 'garbage collection';
  if (frame.functionName === '(program)') return 'V8 and native code outside JS (program)';
  if (frame.functionName === '(idle)') return 'idle';
  // The bench's own probe (starting and stopping the profiler) is not the server's work.
  if (/\/scripts\/bench\/(serve|profile)\.ts$/.test(frame.url)) return 'excluded';
  if (frame.url === '' && BUILTINS[frame.functionName]) return BUILTINS[frame.functionName];
  // The package, and its scope if it has one.
  const [, pkg, scope] = /node_modules\/((@[^/]+)\/[^/]+|[^/]+)\//.exec(frame.url) ?? [];
  if (pkg) return CATEGORY_OF_PACKAGE.get(scope ?? pkg) ?? `other package: ${pkg}`;
  for (const [pattern, name] of OURS) {
    const match = pattern.exec(frame.url);
    if (match) return name.replace('$1', match[1] ?? '');
  }
  return undefined;
}

/**
 * CPU per request by part of the stack: each sample to the innermost frame of a package or of our
 * code (Node's internals count for their caller, else as "node: http, net, streams"). Samples
 * are counted, not weighed by their gaps (a descheduled thread's long gap is no CPU), and
 * scaled to the CPU per request the process measured for itself.
 */
export function summarizeProfile(
  file: string,
  cpuMicrosPerRequest: number,
  top = 12,
  options: { mongooseParts?: boolean } = {},
): CostShare[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categories = new Map<number, string>();
  const categorize = (id: number): string => {
    let category = categories.get(id);
    if (category === undefined) {
      const node = byId.get(id);
      const up = parent.get(id);
      category =
        (node && categoryOf(node.callFrame, options.mongooseParts)) ??
        (up === undefined ? 'node: http, net, streams' : categorize(up));
      categories.set(id, category);
    }
    return category;
  };
  const counts = new Map<string, number>();
  for (const category of profile.samples.map(categorize)) {
    counts.set(category, (counts.get(category) ?? 0) + 1);
  }
  counts.delete('idle');
  counts.delete('excluded');
  const busy = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
  return [...counts.entries()]
    .map(([category, n]) => ({ category, micros: (n / busy) * cpuMicrosPerRequest }))
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top);
}

// `node scripts/bench/profile.ts <file> <CPU µs per request> [--mongoose-parts]` (docs/benchmarks.md).
if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, cpu, flag] = process.argv.slice(2);
  if (!file || !Number(cpu) || (flag !== undefined && flag !== '--mongoose-parts')) {
    console.error(
      'usage: node scripts/bench/profile.ts <file.cpuprofile> <CPU µs per request> [--mongoose-parts]',
    );
    process.exit(1);
  }
  const options = { mongooseParts: flag === '--mongoose-parts' };
  for (const { category, micros } of summarizeProfile(file, Number(cpu), 30, options)) {
    console.log(`${micros.toFixed(1).padStart(8)} µs  ${category}`);
  }
}
