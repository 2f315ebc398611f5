import { create as createMigration } from 'migrate-mongo';
import { MongoClient } from 'mongodb';
import { runScript, type ScriptContext } from '../cli/script.ts';
import { replicationOptions } from '../db/replication.ts';
import { guardSocketWrites } from '../db/socket-write-guard.ts';
import { UsageError } from '../process/script-error.ts';
import { parseCommandLine } from './command-line.ts';
import { type Connected, databaseCommands } from './database-commands.ts';
import { checkModelDrift, generateCommand, snapshotCommand } from './generate-command.ts';
import { historyCommand } from './history.ts';
import { releaseHeldLocks } from './lock.ts';
import { useMigrationsDir } from './settings.ts';

export const USAGE = `usage: npm run migrate -- <command>
  up [--to <file> | --steps N] [--dry-run] [--no-backup] [--allow-out-of-order] [--wait <s>]
  down [--steps N | --to <file> | --to base | --block] [--dry-run] [--no-backup] [--wait <s>]
  status                the files, applied when or pending, and the lock; exit 1 naming
                        duplicate or unknown changelog entries
  check                 exit 1 when migrations are pending, the changelog lies, a declared
                        index is missing or different, or the models differ from the
                        state the migrations record (migrations/model-state.json)
  current               the newest applied migration ("(head)" when nothing is pending)
  history               every migration, oldest first, with what it does (no database)
  stamp <file>|base [--dry-run]
                        mark the migrations up to <file> applied and the later ones pending,
                        without running them
  repair [--dry-run] [--forget-unknown]
                        remove duplicate changelog entries (the oldest of each stays)
  indexes [--dry-run]   build the indexes the models declare that the database lacks
  create <name>         new file from migrations/sample-migration.js
  generate <name> [--validators error|warn|off] [--no-db]
                        write the migration for the models' changes (docs/migrations.md)
  snapshot              record the models' state after a hand-written migration
  unlock [--force]      clear the lock of a crashed run on another host
  help`;

const FLAGS: Record<string, string[]> = {
  up: ['to', 'steps', 'dry-run', 'no-backup', 'allow-out-of-order', 'wait'],
  down: ['steps', 'to', 'block', 'dry-run', 'no-backup', 'wait'],
  status: [],
  check: [],
  current: [],
  history: [],
  stamp: ['dry-run', 'wait'],
  repair: ['dry-run', 'forget-unknown', 'wait'],
  indexes: ['dry-run', 'wait'],
  create: [],
  generate: ['validators', 'no-db'],
  snapshot: [],
  unlock: ['force'],
  help: [],
};

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `npm run migrate -- <argv>`, and the plain `npx migrate-mongo up|down|status` routed here. */
export async function runMigrateCommand(argv: string[], name = 'migrate'): Promise<void> {
  await runScript(name, (ctx) => main(ctx, argv), {
    interruptible: true,
    usageHint: '(npm run migrate -- help)',
  });
}

async function main(ctx: ScriptContext, argv: string[]): Promise<number> {
  // Released on every way out: an error, a broken output pipe, a second Ctrl-C.
  ctx.onCleanup(releaseHeldLocks);
  const { command, rest, values } = parseMigrateCommand(argv);
  if (command === 'help') {
    out(USAGE);
    return 0;
  }
  if (command === 'create') return create(rest);
  const commandContext = {
    out,
    usageError: (message: string) => new UsageError(message),
    serverUri: () => ctx.serverUri(),
  };
  if (command === 'generate') return generateCommand(rest, values, commandContext);
  if (command === 'snapshot') return snapshotCommand(rest, commandContext);
  if (command === 'history') return historyCommand(rest, out);
  const run = databaseCommands[command];
  if (!run) throw new UsageError(`unknown command ${command}`);
  const modelDrift = command === 'check' ? checkModelDrift(out) : undefined;
  const code = await withDatabase(ctx, (connected) => run(connected, rest, values));
  if (modelDrift) throw modelDrift;
  return code;
}

/** The command and its arguments, refusing an unknown command or a flag it does not take. */
function parseMigrateCommand(argv: string[]) {
  const { values, positionals } = parseCommandLine(argv);
  const [command, ...rest] = positionals;
  const allowed = command ? FLAGS[command] : undefined;
  if (!command || !allowed) {
    throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  }
  const stray = Object.keys(values).find((flag) => !allowed.includes(flag));
  if (stray) throw new UsageError(`${command} does not take --${stray}`);
  return { command, rest, values };
}

/** Connects to the configured server (or the local engine) for one command, then closes. */
async function withDatabase(
  ctx: ScriptContext,
  run: (connected: Connected) => Promise<number>,
): Promise<number> {
  const config = ctx.config();
  const uri = await ctx.serverUri();
  // A migration running across a server restart or a step-down must not wait for ever (see there).
  guardSocketWrites();
  const client = new MongoClient(uri, {
    ...replicationOptions(config.mongo.replication),
    serverSelectionTimeoutMS: config.mongo.serverSelectionTimeoutMS,
  });
  try {
    await client.connect();
    const db = client.db(config.mongo.dbName);
    return await run({ client, db, uri, config, signal: ctx.signal, out });
  } finally {
    await client.close();
  }
}

async function create(args: string[]): Promise<number> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0)
    throw new UsageError('create takes one name, e.g. create add-tags');
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name)) {
    throw new UsageError(`migration names are kebab-case (add-user-bio), not ${name}`);
  }
  useMigrationsDir();
  out(`created migrations/${await createMigration(name)}`);
  return 0;
}
