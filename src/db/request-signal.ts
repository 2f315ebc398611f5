import { AsyncLocalStorage } from 'node:async_hooks';
import type { MongooseQueryMiddleware, Schema } from 'mongoose';

/**
 * The signal of the request that database calls are made for, aborted when its client has gone.
 * Carried by AsyncLocalStorage so that feature code stays plain Mongoose: the plugin below checks
 * it before every query of the models, beneath the features.
 */
const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` with `signal` as the signal of every database call it makes. */
export function withSignal<T>(signal: AbortSignal, work: () => T): T {
  return current.run(signal, work);
}

const QUERIES: MongooseQueryMiddleware[] = [
  'find',
  'findOne',
  'countDocuments',
  'estimatedDocumentCount',
  'distinct',
  'updateOne',
  'updateMany',
  'findOneAndUpdate',
  'findOneAndReplace',
  'findOneAndDelete',
  'replaceOne',
  'deleteOne',
  'deleteMany',
];

/**
 * Once the request's client has gone, no further query of it starts. A query already sent runs
 * to its end, and holds the request's slot meanwhile: the driver's `signal` option would close its
 * connection and give the slot back at once, while nothing tells the engine to stop the query.
 * With it, one run of the abort flood left another client unanswered for 10 s (docs/operations.md,
 * "A request's database work ends with it").
 */
export function requestSignalPlugin(schema: Schema): void {
  const stopIfGone = () => current.getStore()?.throwIfAborted();
  schema.pre(QUERIES, stopIfGone);
  schema.pre('aggregate', stopIfGone);
  schema.pre('save', stopIfGone);
  schema.pre('insertMany', stopIfGone);
}
