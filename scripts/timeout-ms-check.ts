// node scripts/timeout-ms-check.ts — shows what the driver does with an operation's timeoutMS
// when the server stops answering: a throw-away local engine is paused (SIGSTOP) after the
// connection is up, and one find is sent with timeoutMS 500 (no socket timeout). Prints how long
// the find took, or that it was still waiting after 5 s. docs/operations.md quotes its output.
import { MongoClient } from 'mongodb';
import { startEmbeddedEngine } from '../src/db/embedded-engine.ts';

const TIMEOUT_MS = 500;
const GIVE_UP_MS = 5000;

const engine = await startEmbeddedEngine({ engine: 'auto' });
const client = new MongoClient(engine.uri, { timeoutMS: TIMEOUT_MS });
try {
  const items = client.db('timeout_ms_check').collection('items');
  await items.insertOne({ at: new Date() });
  if (!engine.pid) throw new Error('the engine has no pid to pause');
  process.kill(engine.pid, 'SIGSTOP');
  const started = performance.now();
  const outcome = await Promise.race([
    items
      .find({})
      .toArray()
      .then(
        () => 'answered',
        (error: Error) => `failed with ${error.name}`,
      ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), GIVE_UP_MS)),
  ]);
  const ms = Math.round(performance.now() - started);
  console.log(`timeoutMS ${TIMEOUT_MS}, server paused: ${outcome} after ${ms} ms`);
  process.kill(engine.pid, 'SIGCONT');
} finally {
  await client.close(true).catch(() => {});
  await engine.stop();
}
