// npm run shell — flask shell's counterpart: a Node REPL (top-level await) on the database the app
// uses (MONGODB_URI, or the local engine, joined if running), with the app's models in scope.
// Piped input runs line by line and is echoed (`npm run shell < session.js`); exit 1 if a line
// of it failed. docs/play-time.md replays the tutorial's play-time session in it.

import mongoose from 'mongoose';
import { runScript } from '../src/cli/script.ts';
import { connectDatabase } from '../src/models.ts';
import { fromProjectRoot } from '../src/process/project-root.ts';
import { ScriptError } from '../src/process/script-error.ts';
import { redactSecrets } from '../src/shared/connection-string.ts';
import { shellBanner } from './shell/banner.ts';
import { runShell } from './shell/session.ts';

await runScript(
  'shell',
  async (ctx) => {
    const config = ctx.config();
    const uri = await ctx.serverUri();
    const db = await connectDatabase(uri, {
      dbName: config.mongo.dbName,
      serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
      replication: config.mongo.replication,
    });
    ctx.onCleanup(() => db.close());
    // Filters here are typed by the operator, not taken from a request: {$in: [...]} means $in.
    db.connection.set('sanitizeFilter', false);
    const scope = { ...db.connection.models, mongoose, connection: db.connection, db };
    const production = config.env === 'production';
    process.stdout.write(
      shellBanner({
        dbName: config.mongo.dbName,
        server: redactSecrets(uri, uri),
        production,
        names: Object.keys(scope),
      }),
    );
    const failures = await runShell({
      prompt: production ? `PRODUCTION ${config.mongo.dbName}> ` : '> ',
      scope,
      historyFile: fromProjectRoot('.shell_history'),
      signal: ctx.signal,
    });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (failures > 0) {
      throw new ScriptError('session-failed', `${failures} line(s) of the piped session failed`);
    }
  },
  { interruptible: true },
);
