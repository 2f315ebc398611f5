import { ObjectId } from 'mongodb';
import { isDuplicateKeyError } from '../errors.ts';
import type { Outcome, RuleCheck } from './rule.ts';

// Concurrency: many clients writing one document at once, as hot tags, counters and tokens do.

const ROUNDS = 3;
const RACERS = 40;
const newId = () => new ObjectId();

/** Runs `race` ROUNDS times on fresh documents; kept when every round gave `wanted`. */
async function rounds(race: () => Promise<number>, wanted: number, what: string): Promise<Outcome> {
  const seen: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) seen.push(await race());
  return {
    kept: seen.every((n) => n === wanted),
    seen: `${what}: ${seen.join(', ')} of ${wanted}`,
  };
}

const atomicInc: RuleCheck = {
  rule: 'concurrent $inc of one document all apply',
  async run({ db }) {
    const c = db.collection<{ _id: ObjectId; n: number }>('inc');
    return rounds(
      async () => {
        const _id = newId();
        await c.insertOne({ _id, n: 0 });
        await Promise.all(
          Array.from({ length: RACERS }, () => c.updateOne({ _id }, { $inc: { n: 1 } })),
        );
        return (await c.findOne({ _id }))?.n ?? 0;
      },
      RACERS,
      `${RACERS} racing $inc applied`,
    );
  },
  worksAround: (caps) =>
    caps.atomicUpdates
      ? undefined
      : "the models' writes to one document take turns in each process",
  fix: 'MONGODB_ATOMIC_UPDATES=false',
};

const racingUpserts: RuleCheck = {
  rule: 'racing upserts of one new document all count (a duplicate key retried once)',
  async run({ db }) {
    const c = db.collection<{ _id: ObjectId; n: number }>('upsert');
    return rounds(
      async () => {
        const _id = newId();
        const upsert = () => c.updateOne({ _id }, { $inc: { n: 1 } }, { upsert: true });
        await Promise.all(
          Array.from({ length: RACERS }, () =>
            upsert().catch((e) => (isDuplicateKeyError(e) ? upsert() : Promise.reject(e))),
          ),
        );
        return (await c.findOne({ _id }))?.n ?? 0;
      },
      RACERS,
      `${RACERS} racing upserts counted`,
    );
  },
  worksAround: (caps) =>
    caps.atomicUpserts ? undefined : 'rate-limit hits are inserted one by one and counted',
  fix: 'MONGODB_ATOMIC_UPSERTS=false',
};

const findAndModify: RuleCheck = {
  rule: 'findOneAndUpdate and findOneAndDelete are atomic under concurrency',
  async run({ db }) {
    const c = db.collection<{ _id: ObjectId; n: number }>('fam');
    const updates = await rounds(
      async () => {
        const _id = newId();
        await c.insertOne({ _id, n: 0 });
        const seen = await Promise.all(
          Array.from({ length: RACERS }, () =>
            c.findOneAndUpdate({ _id }, { $inc: { n: 1 } }, { returnDocument: 'after' }),
          ),
        );
        return new Set(seen.map((doc) => doc?.n)).size;
      },
      RACERS,
      'distinct values returned',
    );
    const deletes = await rounds(
      async () => {
        const _id = newId();
        await c.insertOne({ _id, n: 0 });
        const won = await Promise.all(
          Array.from({ length: 10 }, () => c.findOneAndDelete({ _id })),
        );
        return won.filter(Boolean).length;
      },
      1,
      'racing deletes that got the document',
    );
    return { kept: updates.kept && deletes.kept, seen: `${updates.seen}; ${deletes.seen}` };
  },
  worksAround: (caps) =>
    caps.atomicUpdates
      ? undefined
      : "the models' writes to one document take turns in each process",
  fix: 'MONGODB_ATOMIC_UPDATES=false',
};

export const RACES: readonly RuleCheck[] = [atomicInc, racingUpserts, findAndModify];
