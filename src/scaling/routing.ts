/**
 * How mongos would route a command under a shard plan, from the command itself: the rules of
 * MongoDB's query routing reduced to what this API sends. A statement whose filter pins the
 * shard key's first field to one value goes to one shard (targeted), to a list of values at
 * most one shard per value (multi-shard), anything else to every shard (scatter-gather). An
 * unsharded collection lives on one shard (its database's primary shard).
 */

export type Routing = 'unsharded' | 'targeted' | 'multi-shard' | 'scatter-gather';
export type Doc = Record<string, unknown>;
export type ShardKey = Record<string, 1 | 'hashed'>;

/** One statement of a command: a find, one update or delete of a batch, one inserted document. */
export interface Statement {
  collection: string;
  command: string;
  filter?: Doc;
  document?: Doc;
  upsert?: boolean;
}

/** Commands that carry no statement to route (cursor follow-ups go where their find went). */
const NOT_ROUTED = new Set([
  'getMore',
  'killCursors',
  'createIndexes',
  'listIndexes',
  'listCollections',
  'create',
  'drop',
  'dropDatabase',
  'dropIndexes',
  'endSessions',
  'commitTransaction',
  'abortTransaction',
]);

/** The statements of one command as the driver sends it (command monitoring's `command`). */
export function statementsOf(name: string, command: Doc): Statement[] {
  if (NOT_ROUTED.has(name)) return [];
  const collection = String(command[name]);
  const one = (filter: unknown, extra: Partial<Statement> = {}): Statement => ({
    collection,
    command: name,
    filter: (filter ?? {}) as Doc,
    ...extra,
  });
  switch (name) {
    case 'find':
      return [one(command.filter)];
    case 'count':
    case 'distinct':
      return [one(command.query)];
    case 'aggregate': {
      const first = (command.pipeline as Doc[] | undefined)?.[0];
      return [one(first?.$match)];
    }
    case 'findAndModify':
      return [one(command.query, { upsert: command.upsert === true })];
    case 'update':
      return (command.updates as Doc[]).map((u) => one(u.q, { upsert: u.upsert === true }));
    case 'delete':
      return (command.deletes as Doc[]).map((d) => one(d.q));
    case 'insert':
      return (command.documents as Doc[]).map((document) => ({
        collection,
        command: name,
        document,
      }));
    default:
      throw new Error(
        `src/scaling/routing.ts does not know where "${name}" goes on a sharded cluster: teach statementsOf`,
      );
  }
}

function isOperatorObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

type Pin = 'one' | 'some' | 'none';

/** How a filter constrains one field: to one value, to a list of values, or not usefully. */
function pinOf(filter: Doc, field: string): Pin {
  let best: Pin = 'none';
  const better = (pin: Pin) => {
    if (pin === 'one' || (pin === 'some' && best === 'none')) best = pin;
  };
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and') for (const part of value as Doc[]) better(pinOf(part, field));
    else if (key === '$or') {
      const branches = (value as Doc[]).map((branch) => pinOf(branch, field));
      if (branches.every((pin) => pin !== 'none'))
        better(branches.length === 1 ? (branches[0] as Pin) : 'some');
    } else if (key === field) {
      if (!isOperatorObject(value)) better('one');
      else if ('$eq' in value) better('one');
      else if (Array.isArray(value.$in)) better(value.$in.length === 1 ? 'one' : 'some');
    }
  }
  return best;
}

export interface RoutedStatement {
  routing: Routing;
  /** What mongos would refuse, or a plan that cannot hold (an upsert without the whole key). */
  problem?: string;
}

/** Where mongos sends one statement on a collection sharded by `key` (undefined: unsharded). */
export function routeStatement(statement: Statement, key: ShardKey | undefined): RoutedStatement {
  if (!key) return { routing: 'unsharded' };
  const fields = Object.keys(key);
  if (statement.document) {
    const missing = fields.filter((f) => !(f in (statement.document as Doc)));
    return missing.length === 0
      ? { routing: 'targeted' }
      : {
          routing: 'targeted',
          problem: `inserts a document without the shard key field(s) ${missing.join(', ')}`,
        };
  }
  const filter = statement.filter ?? {};
  if (statement.upsert && !fields.every((f) => pinOf(filter, f) === 'one')) {
    return {
      routing: 'scatter-gather',
      problem: `upserts without pinning every shard key field (${fields.join(', ')}) to one value: mongos cannot tell which shard the new document belongs on`,
    };
  }
  const pin = pinOf(filter, fields[0] as string);
  if (pin === 'one') return { routing: 'targeted' };
  if (pin === 'some') return { routing: 'multi-shard' };
  return { routing: 'scatter-gather' };
}
