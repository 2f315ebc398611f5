import { relative } from 'node:path';
import { projectRoot } from './project-root.ts';
import type { Shutdown } from './shutdown.ts';

/**
 * What started this process, for log lines and the local engine's record: `npm start` (or
 * `npm run <script>`) when npm did, which it says in npm_lifecycle_event; else the node command
 * line, since a shell, systemd or a launcher script may stand behind it.
 */
export function launcherName(env: NodeJS.ProcessEnv = process.env): string {
  const event = env.npm_lifecycle_event;
  if (event) return event === 'start' ? 'npm start' : `npm run ${event}`;
  const script = process.argv[1] ? relative(projectRoot, process.argv[1]) : 'src/main.ts';
  return `node ${script}`;
}

/**
 * npm answers SIGTERM by exiting at once without signalling its script (npm 11, measured), so
 * under `npm start` the app would live on, re-parented, after its parent was told to stop. Only
 * then does a changed parent pid mean "shut down as for SIGTERM": a launcher that starts the app
 * in the background and exits (nohup, a start script) leaves it running, as it means to.
 */
export function watchNpmParent(shutdown: Shutdown, env: NodeJS.ProcessEnv = process.env): boolean {
  const parent = process.ppid;
  if (!env.npm_lifecycle_event || parent <= 1) return false;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    // A signal to the whole group reaches the app and ends npm: that shutdown is already going,
    // and a second begin() would cut it short.
    if (!shutdown.signal.aborted) void shutdown.begin(`npm (parent process ${parent}) exited`, 0);
  }, 250);
  timer.unref();
  return true;
}
