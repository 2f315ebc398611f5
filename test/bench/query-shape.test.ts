import { describe, expect, it } from 'vitest';
import { servingIndex } from './query-shape.ts';

// The checker behind the index test must be able to say no, or that test proves nothing.
const postIndexes = [
  { name: '_id_', key: [['_id', 1]] as [string, number][] },
  {
    name: 'author_ts',
    key: [
      ['author', 1],
      ['timestamp', -1],
      ['_id', -1],
    ] as [string, number][],
  },
  {
    name: 'ts',
    key: [
      ['timestamp', -1],
      ['_id', -1],
    ] as [string, number][],
  },
];
const newestFirst: [string, number][] = [
  ['timestamp', -1],
  ['_id', -1],
];

describe('servingIndex', () => {
  it('finds the index whose pinned prefix is followed by the sort', () => {
    expect(servingIndex(postIndexes, { author: 'a' }, newestFirst)).toBe('author_ts');
    expect(servingIndex(postIndexes, { author: { $in: ['a', 'b'] } }, newestFirst)).toBe(
      'author_ts',
    );
    expect(servingIndex(postIndexes, {}, newestFirst)).toBe('ts');
  });

  it('accepts the sort read backwards and a keyset $or beside a served prefix', () => {
    const oldestFirst: [string, number][] = [
      ['timestamp', 1],
      ['_id', 1],
    ];
    expect(servingIndex(postIndexes, {}, oldestFirst)).toBe('ts');
    const keyset = { $or: [{ timestamp: { $lt: 1 } }, { timestamp: 1, _id: { $lt: 2 } }] };
    expect(servingIndex(postIndexes, { $and: [{ author: 'a' }, keyset] }, newestFirst)).toBe(
      'author_ts',
    );
  });

  it('says no to a filter on an unindexed field, and to a sort no index holds', () => {
    expect(servingIndex(postIndexes, { body: 'x' })).toBeUndefined();
    expect(servingIndex(postIndexes, { author: 'a' }, [['body', 1]])).toBeUndefined();
    expect(servingIndex(postIndexes, { tags: 'x' }, newestFirst)).toBeUndefined();
    expect(servingIndex(postIndexes, { tags: 'x' })).toBeUndefined();
  });

  it('says no to mixed sort directions and to an $or with an unindexed branch', () => {
    expect(
      servingIndex(postIndexes, {}, [
        ['timestamp', -1],
        ['_id', 1],
      ]),
    ).toBeUndefined();
    expect(servingIndex(postIndexes, { $or: [{ author: 'a' }, { body: 'x' }] })).toBeUndefined();
    expect(servingIndex(postIndexes, { $or: [{ author: 'a' }, { _id: 'x' }] })).toBe(
      'author_ts + _id_',
    );
  });
});
