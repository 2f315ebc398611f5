// npm run db — the data folder's local engine in the foreground, for people who want the database
// in a terminal of its own: starts it (or joins the one running), prints where it is, and holds
// it until Ctrl-C. Every other command (npm start, migrate, backup) then connects to it.

import { runScript } from '../src/cli/script.ts';
import { ENGINE_LOG } from '../src/db/engine-socket.ts';
import { fromProjectRoot } from '../src/process/project-root.ts';
import { ScriptError } from '../src/process/script-error.ts';

await runScript(
  'db',
  async (ctx) => {
    const { mongo, embedded } = ctx.config();
    if (mongo.uri) {
      throw new ScriptError(
        'uses-mongodb-uri',
        'MONGODB_URI is set: the commands use that server, not a local engine (unset it to use one)',
      );
    }
    const uri = await ctx.serverUri();
    const dataDir = fromProjectRoot(embedded.dataDir);
    ctx.out(`database running at ${uri} (data in ${dataDir}, its log in ${dataDir}/${ENGINE_LOG})`);
    ctx.out(`database name: ${mongo.dbName}; Ctrl-C to stop`);
    // Until Ctrl-C or SIGTERM; the runner then releases the engine (stopped unless in use).
    await new Promise<void>((resolve) => {
      // Signal listeners do not keep Node running; a timer does.
      const keepAlive = setInterval(() => {}, 60_000);
      const done = () => {
        clearInterval(keepAlive);
        resolve();
      };
      if (ctx.signal.aborted) done();
      ctx.signal.addEventListener('abort', done, { once: true });
    });
    ctx.out('stopping');
  },
  { interruptible: true, interruptedExitCode: 130 },
);
