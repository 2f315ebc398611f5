import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecord } from '../../src/db/engine-socket.ts';
import { freePort } from '../../src/process/free-port.ts';
import { processAlive } from '../../src/process/pid.ts';

export { freePort };

/** A data folder of its own and a free port: a local engine no other test shares. */
export async function localEngineSetup(label: string) {
  const dataDir = await mkdtemp(join(tmpdir(), `local-engine-${label}-`));
  const port = await freePort();
  const env = {
    // Set but empty: neither the suite's MONGODB_URI nor a .env can point the commands elsewhere.
    MONGODB_URI: '',
    EMBEDDED_DATA_DIR: dataDir,
    EMBEDDED_PORT: String(port),
    LOG_LEVEL: 'info',
  };
  return {
    dataDir,
    port,
    env,
    record: () => readRecord(dataDir),
    /** Every process whose command line or environment names the data folder. */
    processes: () => processesNaming(dataDir),
    async remove() {
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Processes that have `text` in their command line (FerretDB, mongod: their data path) or in
 * their environment (the app, the commands, the engine host: EMBEDDED_DATA_DIR or the host's
 * spec). Linux /proc; processes of other users are skipped.
 */
export function processesNaming(text: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const environment = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if ((command.includes(text) || environment.includes(text)) && processAlive(pid)) {
        found.push({ pid, command: command.trim() });
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}
