import type { Database } from '../db/connection.ts';
import type { Logger } from '../logger.ts';
import { counterStateOf, recordTagRepairs, recountTag } from './counters.ts';
import { repairTagCounts } from './service.ts';

/** How soon after a failed counter write the reconciler runs (it batches failures this long). */
export const WAKE_DELAY_MS = 200;
/** How soon a tag that could not be recounted (writes to it were under way) is tried again. */
const BUSY_RETRY_MS = 1000;
/** Recorded tags recounted per pass (the rest wait for the next pass, which follows at once). */
const PER_PASS = 500;

export interface TagReconciler {
  /** Runs one pass now (recorded tags, and the full check when `full`); resolves when done. */
  runOnce(options?: { full?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface ReconcilerOptions {
  db: Database;
  logger: Logger;
  intervalMs: number;
  fullCheckIntervalMs: number;
}

/**
 * Keeps tag counts exact without an operator, in the API process: the tags recorded after a
 * failed counter write (src/tags/counters.ts) are recounted from the posts shortly after the
 * failure and every `intervalMs` (records left by a crash or another process), and every
 * `fullCheckIntervalMs` every tag's count is compared with its posts, drifted ones recorded and
 * recounted. Each pass logs what it fixed; a pass that fails is logged and tried again.
 * `npm run tags:repair` stays the operator's tool for the same job.
 */
export function startTagReconciler(options: ReconcilerOptions): TagReconciler {
  const { db, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let dueAt = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let stopped = false;
  let nextFullCheck =
    options.fullCheckIntervalMs > 0 ? Date.now() + options.fullCheckIntervalMs : Infinity;

  function schedule(delayMs: number): void {
    if (stopped) return;
    const at = Date.now() + delayMs;
    if (timer && at >= dueAt) return;
    clearTimeout(timer);
    dueAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      dueAt = Number.POSITIVE_INFINITY;
      void runOnce();
    }, delayMs);
    timer.unref();
  }

  function runOnce(request: { full?: boolean } = {}): Promise<void> {
    if (running) return running.then(() => runOnce(request));
    const full = request.full ?? Date.now() >= nextFullCheck;
    if (full && options.fullCheckIntervalMs > 0)
      nextFullCheck = Date.now() + options.fullCheckIntervalMs;
    running = reconcilePass(db, logger, full)
      .then(({ busy, more }) => {
        if (busy > 0) schedule(BUSY_RETRY_MS);
        if (more) schedule(0);
      })
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'tag counts: reconciliation failed; trying again');
        schedule(Math.min(options.intervalMs, 5000));
      })
      .finally(() => {
        running = undefined;
        schedule(options.intervalMs);
      });
    return running;
  }

  const state = counterStateOf(db);
  state.wake = () => schedule(WAKE_DELAY_MS);
  schedule(options.intervalMs);
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      state.wake = () => {};
      await running;
    },
  };
}

/**
 * One pass: with `full`, every tag's count against its posts (drifted ones recorded); then the
 * recorded tags (this process's and the tag_repairs collection's), recounted from the posts.
 * Returns how many could not be recounted yet (writes under way) and whether more are waiting.
 */
async function reconcilePass(
  db: Database,
  logger: Logger,
  full: boolean,
): Promise<{ busy: number; more: boolean }> {
  const state = counterStateOf(db);
  if (full) {
    const { drift } = await repairTagCounts(db, { check: true });
    if (drift.length > 0) {
      logger.warn({ drift: drift.slice(0, 20) }, `tag counts: ${drift.length} drifted`);
      await recordTagRepairs(
        db,
        drift.map((d) => d.name),
      );
    }
  }
  const records = await db.TagRepair.find({}, { since: 1 })
    .limit(PER_PASS)
    .lean<{ _id: string; since: Date }[]>();
  const since = new Map(records.map((r) => [r._id, r.since]));
  const names = [...new Set([...state.recorded, ...since.keys()])].slice(0, PER_PASS);
  for (const name of names) state.recorded.delete(name);
  let fixed = 0;
  let busy = 0;
  try {
    for (const [i, name] of names.entries()) {
      try {
        if (await recountTag(db, name)) {
          fixed += 1;
          const recorded = since.get(name);
          // A failure recorded again meanwhile changed `since`: that record stays.
          if (recorded) await db.TagRepair.deleteOne({ _id: name, since: recorded });
        } else {
          busy += 1;
          state.recorded.add(name);
        }
      } catch (error) {
        for (const left of names.slice(i)) state.recorded.add(left);
        throw error;
      }
    }
  } finally {
    if (fixed > 0) logger.info({ tags: fixed }, `tag counts: recounted ${fixed} tag(s)`);
  }
  return { busy, more: names.length === PER_PASS };
}
