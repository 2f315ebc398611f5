// How mongos would route a command under a shard plan: MongoDB's routing rules reduced to what
// this API sends. A filter pinning the shard key's first field to one value goes to one shard, to
// a list of values at most one shard per value, anything else to every shard.

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

// Commands that carry no statement to route (cursor follow-ups go where their find went).
const NOT_ROUTED = new Set(
  `getMore killCursors createIndexes listIndexes listCollections create drop dropDatabase
  dropIndexes endSessions commitTransaction abortTransaction`.split(/\s+/),
);

/** Where each command (as command monitoring shows it) keeps its statements. */
const STATEMENTS: Record<string, (c: Doc) => Partial<Statement>[]> = {
  find: (c) => [{ filter: c.filter as Doc }],
  count: (c) => [{ filter: c.query as Doc }],
  distinct: (c) => [{ filter: c.query as Doc }],
  aggregate: (c) => [{ filter: (c.pipeline as Doc[] | undefined)?.[0]?.$match as Doc }],
  findAndModify: (c) => [{ filter: c.query as Doc, upsert: c.upsert === true }],
  update: (c) =>
    (c.updates as Doc[]).map((u) => ({ filter: u.q as Doc, upsert: u.upsert === true })),
  delete: (c) => (c.deletes as Doc[]).map((d) => ({ filter: d.q as Doc })),
  insert: (c) => (c.documents as Doc[]).map((document) => ({ document })),
};

/** The statements of one command as the driver sends it (command monitoring's `command`). */
export function statementsOf(name: string, command: Doc): Statement[] {
  if (NOT_ROUTED.has(name)) return [];
  const parts = STATEMENTS[name];
  if (!parts) {
    throw new Error(
      `src/scaling/routing.ts does not know where "${name}" goes on a sharded cluster: teach statementsOf`,
    );
  }
  const collection = String(command[name]);
  return parts(command).map((part) => ({
    collection,
    command: name,
    ...(part.document ? part : { ...part, filter: part.filter ?? {} }),
  }));
}

/** `{$in: [...]}` and the like, rather than a value (an ObjectId, a string) to compare with. */
function isOperatorObject(value: unknown): value is Doc {
  if (!value || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** How a filter constrains one field: 2 to one value, 1 to a list of values, 0 not usefully. */
function pinOf(filter: Doc, field: string): number {
  const pins = Object.entries(filter).map(([key, value]): number => {
    if (key === '$and') return Math.max(0, ...(value as Doc[]).map((part) => pinOf(part, field)));
    if (key === '$or') {
      const branches = (value as Doc[]).map((branch) => pinOf(branch, field));
      if (Math.min(...branches) === 0) return 0;
      return branches.length === 1 ? (branches[0] as number) : 1;
    }
    if (key !== field) return 0;
    if (!isOperatorObject(value) || '$eq' in value) return 2;
    if (Array.isArray(value.$in)) return value.$in.length === 1 ? 2 : 1;
    return 0;
  });
  return Math.max(0, ...pins);
}

/**
 * Where mongos sends one statement on a collection sharded by `key` (undefined: unsharded), and
 * the problem: what mongos would refuse, or a plan that cannot hold (an upsert without the key).
 */
export function routeStatement(
  statement: Statement,
  key: ShardKey | undefined,
): { routing: Routing; problem?: string } {
  if (!key) return { routing: 'unsharded' };
  const fields = Object.keys(key);
  if (statement.document) {
    const missing = fields.filter((f) => !(f in (statement.document as Doc)));
    if (missing.length === 0) return { routing: 'targeted' };
    const problem = `inserts a document without the shard key field(s) ${missing.join(', ')}`;
    return { routing: 'targeted', problem };
  }
  const filter = statement.filter ?? {};
  if (statement.upsert && !fields.every((f) => pinOf(filter, f) === 2)) {
    return {
      routing: 'scatter-gather',
      problem: `upserts without pinning every shard key field (${fields.join(', ')}) to one value: mongos cannot tell which shard the new document belongs on`,
    };
  }
  const routing = ['scatter-gather', 'multi-shard', 'targeted'] as const;
  return { routing: routing[pinOf(filter, fields[0] as string)] as Routing };
}
