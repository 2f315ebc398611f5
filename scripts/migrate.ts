import { runMigrateCommand } from '../src/migrations/cli.ts';

await runMigrateCommand(process.argv.slice(2));
