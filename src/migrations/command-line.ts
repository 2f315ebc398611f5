import { parseArgs } from 'node:util';
import { UsageError } from '../process/script-error.ts';

/** The flags of `npm run migrate` (src/migrations/cli.ts), read by every command. */
export type Flags = ReturnType<typeof parseCommandLine>['values'];

export function parseCommandLine(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        to: { type: 'string' },
        steps: { type: 'string' },
        wait: { type: 'string' },
        block: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'no-backup': { type: 'boolean' },
        'allow-out-of-order': { type: 'boolean' },
        'forget-unknown': { type: 'boolean' },
        force: { type: 'boolean' },
        validators: { type: 'string' },
        'no-db': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
