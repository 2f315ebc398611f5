import { AsyncLocalStorage } from 'node:async_hooks';
import type { Aggregate, MongooseQueryMiddleware, Query, Schema } from 'mongoose';

/**
 * The signal of the request that database calls are made for, aborted when its client has gone.
 * Carried by AsyncLocalStorage so that feature code stays plain Mongoose: the plugin below hands
 * it to every query of the models, beneath the features.
 */
const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` with `signal` as the signal of every database call it makes. */
export function withSignal<T>(signal: AbortSignal, work: () => T): T {
  return current.run(signal, work);
}

const READS: MongooseQueryMiddleware[] = [
  'find',
  'findOne',
  'countDocuments',
  'estimatedDocumentCount',
  'distinct',
];
const WRITES: MongooseQueryMiddleware[] = [
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
 * Once the request's client has gone, no query of it starts. A read still running gets the signal
 * (the driver's `signal` option): one waiting for a pooled connection or a server is dropped at
 * once, one waiting for its reply has its connection closed. A write that has begun runs to its
 * end: cut mid-way, its outcome would be unknown to the server's next reader too.
 */
export function requestSignalPlugin(schema: Schema): void {
  schema.pre(READS, function (this: Query<unknown, unknown>) {
    const signal = current.getStore();
    if (!signal) return;
    signal.throwIfAborted();
    this.setOptions({ signal } as never);
  });
  schema.pre('aggregate', function (this: Aggregate<unknown>) {
    const signal = current.getStore();
    if (!signal) return;
    signal.throwIfAborted();
    this.option({ signal } as never);
  });
  schema.pre(WRITES, () => current.getStore()?.throwIfAborted());
  schema.pre('save', () => current.getStore()?.throwIfAborted());
  schema.pre('insertMany', () => current.getStore()?.throwIfAborted());
}
