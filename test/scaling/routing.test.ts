import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { routeStatement, statementsOf } from '../../src/scaling/routing.ts';

// The router behind the targeting test must be able to say "every shard", or that test proves
// nothing.
const key = { author: 'hashed', _id: 1 } as const;
const a = new ObjectId();
const b = new ObjectId();
const find = (filter: Record<string, unknown>) =>
  routeStatement({ collection: 'posts', command: 'find', filter }, key).routing;

describe('routeStatement', () => {
  it('targets a filter that pins the first key field to one value, wherever it sits', () => {
    expect(find({ author: a })).toBe('targeted');
    expect(find({ author: { $eq: a } })).toBe('targeted');
    expect(find({ author: { $in: [a] } })).toBe('targeted');
    expect(find({ $and: [{ author: a }, { $or: [{ timestamp: 1 }, { _id: b }] }] })).toBe(
      'targeted',
    );
  });

  it('sends a list of values to one shard per value, and an $or pinning it in every branch too', () => {
    expect(find({ author: { $in: [a, b] } })).toBe('multi-shard');
    expect(find({ $or: [{ author: a }, { author: b }] })).toBe('multi-shard');
  });

  it('scatters a filter without the first key field, a range on it, or an $or with a branch lacking it', () => {
    expect(find({})).toBe('scatter-gather');
    expect(find({ _id: b })).toBe('scatter-gather');
    expect(find({ author: { $gt: a } })).toBe('scatter-gather');
    expect(find({ $or: [{ author: a }, { tags: 'x' }] })).toBe('scatter-gather');
  });

  it('refuses an upsert that does not pin every key field, and an insert without the key', () => {
    const upsert = routeStatement(
      { collection: 'posts', command: 'update', filter: { author: a }, upsert: true },
      key,
    );
    expect(upsert.problem).toMatch(
      /^upserts without pinning every shard key field \(author, _id\)/,
    );
    expect(
      routeStatement(
        { collection: 'posts', command: 'update', filter: { author: a, _id: b }, upsert: true },
        key,
      ),
    ).toEqual({ routing: 'targeted' });
    const insert = routeStatement(
      { collection: 'posts', command: 'insert', document: { _id: b, body: 'x' } },
      key,
    );
    expect(insert.problem).toBe('inserts a document without the shard key field(s) author');
  });

  it('an unsharded collection is one shard whatever the filter', () => {
    expect(routeStatement({ collection: 'users', command: 'find', filter: {} }, undefined)).toEqual(
      {
        routing: 'unsharded',
      },
    );
  });
});

describe('statementsOf', () => {
  it('reads each statement of a batch, the first $match of a pipeline, and no follow-up command', () => {
    expect(
      statementsOf('update', {
        update: 'tags',
        updates: [
          { q: { name: 'a' }, u: {}, upsert: true },
          { q: { name: 'b' }, u: {} },
        ],
      }),
    ).toEqual([
      { collection: 'tags', command: 'update', filter: { name: 'a' }, upsert: true },
      { collection: 'tags', command: 'update', filter: { name: 'b' }, upsert: false },
    ]);
    expect(
      statementsOf('aggregate', { aggregate: 'posts', pipeline: [{ $match: { author: a } }] }),
    ).toEqual([{ collection: 'posts', command: 'aggregate', filter: { author: a } }]);
    expect(statementsOf('getMore', { getMore: 1, collection: 'posts' })).toEqual([]);
    expect(() => statementsOf('mapReduce', { mapReduce: 'posts' })).toThrow(/teach statementsOf/);
  });
});
