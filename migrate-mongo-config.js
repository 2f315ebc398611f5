// Configuration of the plain `npx migrate-mongo` CLI. migrate-mongo loads this file before it
// connects, so `up`, `down` and `status` are handed to `npm run migrate`'s runner here and never
// reach migrate-mongo's own code: one lock for every way of running migrations (migrate-mongo's
// own lock checks, then inserts, so two runs can pass it together), the backup, the ordering and
// changelog checks. `create` stays migrate-mongo's (Node 22.18+ strips the types of cli.ts).
const { migrateMongoSettings, runMigrateCommand } = await import('./src/migrations/cli.ts');
const command = process.argv[2];
if (['up', 'down', 'status'].includes(command ?? '')) {
  // migrate-mongo's `down -b` (the newest run's migrations) is the runner's --block.
  const args = process.argv.slice(2).map((arg) => (arg === '-b' ? '--block' : arg));
  await runMigrateCommand(args, 'migrate-mongo');
  process.exit(process.exitCode ?? 0);
}

export default migrateMongoSettings();
