import mongoose, {
  type Connection,
  type MongooseQueryMiddleware,
  type Query,
  type Schema,
} from 'mongoose';
import { AppError } from '../shared/errors.ts';

/**
 * Where the engine applies an update by reading the document and writing it back whole
 * (`atomicUpdates: false`: FerretDB v1), two updates of one document that overlap lose one of
 * them. Beneath the models, this process's writes to one document then take turns: each waits
 * until every earlier write to the same document (by this process) has settled. Where updates
 * are atomic (MongoDB) nothing waits. Feature code writes plain Mongoose on every engine: the
 * plugin below is registered on every model (src/db/connection.ts) and finds the document a
 * write targets from its filter (`_id`, or a field the schema declares unique, such as a tag's
 * name). The driver has no such guarantee to offer: the engine itself breaks it.
 *
 * A key names one document: `collection:path:value`. A bulk write takes every key of its
 * operations, in sorted order, so that two writes can never wait for each other.
 * Not async-lock: tried in its place, test/tags.test.ts's concurrent-edit race lost a count in 1
 * of 6 runs (0 of 16 with these promise chains); the cause was not found.
 */
export interface DocumentTurns {
  /** Runs `write` once it holds the turn of every document in `keys`. */
  run<T>(keys: readonly string[], write: () => Promise<T>): Promise<T>;
}

/** How long a write waits for its turn before the request fails (503, try again). */
export const TURN_WAIT_MS = 10_000;

const atOnce: DocumentTurns = { run: (_keys, write) => write() };

export function documentTurns(
  atomicUpdates: boolean,
  options: { waitMs?: number } = {},
): DocumentTurns {
  if (atomicUpdates) return atOnce;
  const waitMs = options.waitMs ?? TURN_WAIT_MS;
  /** The promise that settles when the last write queued on a key has settled. */
  const tails = new Map<string, Promise<void>>();

  function enqueue(key: string): { ready: Promise<void>; release: () => void } {
    const previous = tails.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Whoever queues next waits for the previous write and for this one.
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return { ready: previous, release };
  }

  return {
    async run(keys, write) {
      const releases: (() => void)[] = [];
      try {
        const deadline = Date.now() + waitMs;
        for (const key of [...new Set(keys)].sort()) {
          const turn = enqueue(key);
          releases.push(turn.release);
          await waitUntil(turn.ready, deadline);
        }
        return await write();
      } finally {
        for (const release of releases) release();
      }
    },
  };
}

/** Resolves with `ready`, or fails once `deadline` passes (an earlier write hangs). */
async function waitUntil(ready: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError(
            'database-unavailable',
            'An earlier write to the same record is still running; try again shortly',
          ),
        ),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    await Promise.race([ready, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The turns of each connection whose engine needs them (set by useDocumentTurns). */
const turnsOf = new WeakMap<Connection, DocumentTurns>();

/** Makes the writes through this connection's models take turns where `atomicUpdates` is false. */
export function useDocumentTurns(connection: Connection, atomicUpdates: boolean): void {
  if (atomicUpdates) turnsOf.delete(connection);
  else turnsOf.set(connection, documentTurns(false));
  connection.plugin(documentTurnsPlugin);
}

const WRITES: MongooseQueryMiddleware[] = [
  'updateOne',
  'updateMany',
  'findOneAndUpdate',
  'findOneAndReplace',
  'replaceOne',
  'findOneAndDelete',
  'deleteOne',
];
const RELEASE = Symbol('release the document turn');
type HeldQuery = Query<unknown, unknown> & { [RELEASE]?: () => void };

/** The key of the one document `filter` names, if it names one by `_id` or a unique field. */
function keyOf(schema: Schema, collection: string, filter: Record<string, unknown>) {
  for (const path of ['_id', ...uniquePaths(schema)]) {
    const value = filter[path];
    const scalar = typeof value === 'string' || typeof value === 'number';
    if (scalar || value instanceof mongoose.Types.ObjectId)
      return `${collection}:${path}:${String(value)}`;
  }
  return undefined;
}

function uniquePaths(schema: Schema): string[] {
  return Object.entries(schema.paths)
    .filter(([, type]) => (type.options as { unique?: boolean }).unique === true)
    .map(([path]) => path);
}

/** Holds a turn for the whole of a query that writes one document; bulk writes take them all. */
function documentTurnsPlugin(schema: Schema): void {
  schema.pre(WRITES, async function (this: HeldQuery) {
    const turns = turnsOf.get(this.model.db);
    const key = turns && keyOf(schema, this.model.collection.name, this.getFilter());
    if (!turns || !key) return;
    // The turn is held from here until the query settles (the post hooks below).
    const held = new Promise<void>((resolve) => {
      this[RELEASE] = resolve;
    });
    await new Promise<void>((acquired, failed) => {
      turns
        .run([key], () => {
          acquired();
          return held;
        })
        .catch(failed);
    });
  });
  schema.post(WRITES, function (this: HeldQuery) {
    this[RELEASE]?.();
  });
  schema.post(
    WRITES,
    function (this: HeldQuery, error: Error, _res: unknown, next: (e?: Error) => void) {
      this[RELEASE]?.();
      next(error);
    },
  );
  const bulkWrite = mongoose.Model.bulkWrite;
  schema.static(
    'bulkWrite',
    function (this: mongoose.Model<unknown>, ...args: Parameters<typeof bulkWrite>) {
      const turns = turnsOf.get(this.db);
      if (!turns) return bulkWrite.apply(this, args);
      const keys = (args[0] as Record<string, { filter?: Record<string, unknown> }>[])
        .map((op) => Object.values(op)[0]?.filter)
        .map((filter) => filter && keyOf(schema, this.collection.name, filter))
        .filter((key): key is string => key !== undefined);
      return turns.run(keys, () => bulkWrite.apply(this, args));
    },
  );
}
