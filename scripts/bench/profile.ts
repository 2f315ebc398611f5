import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Starts V8's CPU profiler in this process, sampling every 100 µs (V8's default is 1 ms: too few
 * samples in a few seconds); the function returned stops it and writes the profile to `file`.
 */
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
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface CostShare {
  category: string;
  /** CPU time per request attributed to the category, in microseconds. */
  micros: number;
}

// Which part of the request's way each package is; the first match on the frame's URL wins.
const PACKAGES: [RegExp, string][] = [
  [
    /node_modules\/(pino|pino-http|pino-std-serializers|sonic-boom|@pinojs|fast-redact|quick-format-unescaped|safe-stable-stringify|thread-stream|atomic-sleep|on-exit-leak-free)\//,
    'logging (pino)',
  ],
  [/node_modules\/helmet\//, 'security headers (helmet)'],
  [/node_modules\/(cors|vary)\//, 'CORS'],
  [/node_modules\/express-rate-limit\//, 'rate limiting'],
  [
    /node_modules\/(body-parser|raw-body|type-is|content-type|media-typer|iconv-lite)\//,
    'body parsing',
  ],
  [/node_modules\/(etag|fresh)\//, 'ETag and freshness (express res.send)'],
  [/node_modules\/(zod|@asteasolutions)\//, 'validation (zod)'],
  [/node_modules\/jose\//, 'token check (jose)'],
  [/node_modules\/(mongoose|mquery|mpath|sift|kareem)\//, 'Mongoose'],
  [
    /node_modules\/(mongodb|bson|@mongodb-js|mongodb-connection-string-url)\//,
    'MongoDB driver and BSON',
  ],
  [
    /node_modules\/(express|router|path-to-regexp|finalhandler|on-finished|ee-first|parseurl|proxy-addr|forwarded|ipaddr\.js|accepts|negotiator|mime-types|mime-db|statuses|http-errors|depd|debug|ms|encodeurl|escape-html|merge-descriptors|setprototypeof|send|serve-static|cookie|range-parser|qs|content-disposition|is-promise|safe-buffer)\//,
    'Express (routing, request and response)',
  ],
  [/node_modules\/([^/]+)\//, 'other package: $1'],
  [/\/src\/http\/route\.ts/, 'app: route helper (src/http/route.ts)'],
  [/\/src\/([a-z-]+)\//, 'app: src/$1'],
  [/\/src\/([a-z-]+\.ts)/, 'app: src/$1'],
  [/\/scripts\/bench\//, 'baseline server code'],
];

// Native functions without a URL that are worth their own line wherever they are called from.
const BUILTINS: Record<string, string> = {
  stringify: 'JSON.stringify',
  parse: 'JSON.parse',
};

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
  for (const [pattern, name] of PACKAGES) {
    const match = pattern.exec(frame.url);
    if (match) return name.replace('$1', match[1] ?? '');
  }
  return undefined;
}

/**
 * CPU per request by part of the stack: each sample goes to the innermost frame that belongs to
 * a package or to our code; Node's own internals (http parser, sockets, streams) and unnamed
 * natives count for the nearest such caller, or as "node: http, net, streams" when none is on
 * the stack (reading and writing sockets). Idle time and the bench's own probe are left out.
 *
 * Samples are counted, not weighed by their wall-clock gaps: on a machine shared with other
 * work a descheduled thread yields one sample with a long gap, which says nothing about where
 * its CPU went. The shares are then scaled to `cpuMicrosPerRequest`, the CPU time per request
 * the process measured for itself over the profiled run.
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
  const categoryCache = new Map<number, string>();
  const categorize = (id: number): string => {
    const cached = categoryCache.get(id);
    if (cached) return cached;
    let current: number | undefined = id;
    let found: string | undefined;
    while (current !== undefined && !found) {
      const node = byId.get(current);
      if (!node) break;
      found = categoryOf(node.callFrame, options.mongooseParts);
      current = parent.get(current);
    }
    const category = found ?? 'node: http, net, streams';
    categoryCache.set(id, category);
    return category;
  };
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const category = categorize(id);
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

// `node scripts/bench/profile.ts <file.cpuprofile> <CPU µs per request> [--mongoose-parts]`: the
// same summary for any profile (the bench's results JSON holds each profiled run's CPU per
// request); --mongoose-parts splits Mongoose's share by what it does (casting, populate, hooks...).
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
