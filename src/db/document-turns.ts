import { AppError } from '../shared/errors.ts';

/**
 * Where the engine applies an update by reading the document and writing it back whole
 * (`atomicUpdates: false`: FerretDB v1), two updates of one document that overlap lose one of
 * them. The process's writes to one document then take turns here: each waits until every
 * earlier write to the same document (by this process) has settled. Where updates are atomic
 * (MongoDB) a turn is taken at once, so feature code writes the same way on every engine.
 *
 * A key names one document: `collection:id`. Writes to several documents take every key, in
 * sorted order, so that two of them can never wait for each other.
 */
export interface DocumentTurns {
  /** Runs `write` once it holds the turn of every document in `keys`. */
  run<T>(keys: readonly string[], write: () => Promise<T>): Promise<T>;
}

/** The key of one document in a collection. */
export function documentKey(collection: string, id: unknown): string {
  return `${collection}:${String(id)}`;
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
