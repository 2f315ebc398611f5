import { Long, ObjectId } from 'mongodb';
import type { RuleCheck } from './rule.ts';

// Sessions: transactions (a user's deletion) and retryable writes (the driver's resend after a
// failover); neither applies to a server that is not a replica set or mongos.

const NOT_REPLICATED = 'not a replica set or mongos with sessions';

const transactions: RuleCheck = {
  rule: 'transactions commit all or nothing',
  async run({ client, db, replicated }) {
    if (!replicated) return NOT_REPLICATED;
    const c = db.collection<{ _id: ObjectId }>('txn');
    const session = client.startSession();
    try {
      const [kept, aborted] = [new ObjectId(), new ObjectId()];
      await session.withTransaction(() => c.insertOne({ _id: kept }, { session }));
      session.startTransaction();
      await c.insertOne({ _id: aborted }, { session });
      await session.abortTransaction();
      const stored = await c.countDocuments({ _id: { $in: [kept, aborted] } });
      return { kept: stored === 1, seen: `committed and aborted one each: ${stored} of 1 stored` };
    } finally {
      await session.endSession();
    }
  },
  worksAround: (caps) =>
    caps.transactions ? undefined : "a user's deletion runs in a crash-safe order without one",
  fix: 'none: the app uses transactions wherever the server offers them; report it',
};

const isolation: RuleCheck = {
  rule: 'a transaction whose document is deleted outside it runs again, not on without it',
  async run({ client, db, replicated }) {
    if (!replicated) return NOT_REPLICATED;
    const c = db.collection<{ _id: ObjectId; n: number }>('isolation');
    const _id = new ObjectId();
    await c.insertOne({ _id, n: 0 });
    const seen: string[] = [];
    let runs = 0;
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        runs += 1;
        if (runs > 3) throw new Error('ran three times');
        const found = await c.findOne({ _id }, { session });
        if (runs === 1) await c.deleteOne({ _id }); // outside the transaction
        const { matchedCount } = await c.updateOne({ _id }, { $inc: { n: 1 } }, { session });
        seen.push(`run ${runs} read ${found ? 'it' : 'nothing'} and updated ${matchedCount}`);
      });
    } catch (error) {
      seen.push(String(error));
    } finally {
      await session.endSession();
    }
    const kept = runs >= 2 && seen.at(-1)?.startsWith(`run ${runs} read nothing`) === true;
    return { kept, seen: `${runs} run(s): ${seen.join('; ')}` };
  },
  worksAround: (caps) => (caps.transactions ? undefined : 'no transactions are used'),
  fix: 'none: report it (a deletion inside a transaction could miss a concurrent change)',
};

const retryableWrites: RuleCheck = {
  rule: 'a resent retryable write (same lsid and txnNumber) applies once',
  async run({ client, db, replicated }) {
    if (!replicated) return `${NOT_REPLICATED}: the driver does not resend writes`;
    const _id = new ObjectId();
    await db.collection('retry').insertOne({ _id, n: 0 });
    const session = client.startSession();
    try {
      const resent = {
        update: 'retry',
        updates: [{ q: { _id }, u: { $inc: { n: 1 } } }],
        txnNumber: Long.fromNumber(1),
      };
      await db.command(resent, { session });
      await db.command(resent, { session });
    } finally {
      await session.endSession();
    }
    const n = (await db.collection('retry').findOne({ _id }))?.n;
    return { kept: n === 1, seen: `sent twice, applied ${n} time(s)` };
  },
  worksAround: (_caps, retryWrites) =>
    retryWrites ? undefined : 'the driver does not resend writes (MONGODB_RETRY_WRITES=false)',
  fix: 'MONGODB_RETRY_WRITES=false',
};

export const SESSIONS: readonly RuleCheck[] = [transactions, isolation, retryableWrites];
