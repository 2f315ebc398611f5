import { type EventEmitter, once } from 'node:events';
import { createInterface } from 'node:readline';
import repl, { type REPLServer } from 'node:repl';
import { PassThrough } from 'node:stream';

export interface ShellOptions {
  prompt: string;
  /** Names put in scope (models, mongoose, the connection). */
  scope: Record<string, unknown>;
  /** Where a terminal session keeps its history. */
  historyFile: string;
  /** Aborted by the first SIGTERM/SIGINT the process gets: the session ends. */
  signal: AbortSignal;
}

/**
 * A Node REPL (top-level await) until .exit, Ctrl-D, Ctrl-C twice, the end of piped input or the
 * signal. Resolves with the number of piped lines that failed (a terminal session counts none:
 * errors are part of exploring).
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const interactive = process.stdin.isTTY === true;
  const input = interactive ? process.stdin : new PassThrough();
  const server = repl.start({
    prompt: options.prompt,
    input,
    output: process.stdout,
    terminal: interactive,
    useColors: interactive && process.stdout.isTTY === true,
    // The script's realm: a Date or an array typed at the prompt is what Mongoose expects.
    useGlobal: true,
    ignoreUndefined: true,
    // Ctrl-C at the prompt stops a pending await (a query that hangs) instead of waiting for it.
    breakEvalOnSigint: interactive,
  });
  Object.assign(server.context, options.scope);
  const closed = once(server, 'exit');
  // A REPL waiting on an await does not end when closed: the signal ends the session itself.
  const aborted = new Promise((resolve) => {
    options.signal.addEventListener('abort', resolve, { once: true });
  });
  let failures = 0;
  if (interactive) {
    await new Promise((resolve) => server.setupHistory(options.historyFile, resolve));
  } else {
    countFailures(server, () => {
      failures += 1;
    });
    void feedLines(server, input as PassThrough);
  }
  await Promise.race([closed, aborted]);
  if (options.signal.aborted) server.close();
  // Nothing more is read: an open stdin would keep the process alive.
  process.stdin.destroy();
  return failures;
}

/**
 * Gives the REPL piped lines one at a time, each once the previous one has finished (the REPL's
 * own reading runs ahead of a pending await and mixes up the order), and echoes each line after
 * its prompt, so the output reads like the session in a terminal.
 */
async function feedLines(server: REPLServer, input: PassThrough): Promise<void> {
  let ended = false;
  server.once('exit', () => {
    ended = true;
  });
  let ready: Promise<void> = Promise.resolve();
  let markReady = () => {};
  const displayPrompt = server.displayPrompt.bind(server);
  server.displayPrompt = (preserveCursor?: boolean) => {
    displayPrompt(preserveCursor);
    markReady();
  };
  const exited = once(server, 'exit').then(() => {});
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    await Promise.race([ready, exited]);
    if (ended) break;
    ready = new Promise((resolve) => {
      markReady = resolve;
    });
    process.stdout.write(`${line}\n`);
    input.write(`${line}\n`);
  }
  await Promise.race([ready, exited]);
  // Where a terminal shows Ctrl-D's new line.
  if (!ended) process.stdout.write('\n');
  input.end();
}

/** Calls `onFailure` for every line whose evaluation threw (not for an unfinished statement). */
function countFailures(server: REPLServer, onFailure: () => void): void {
  // Every error the REPL reports, awaited rejections included, goes through its domain's
  // 'error' event; the eval callback never sees a rejected top-level await.
  const domain = (server as unknown as { _domain?: EventEmitter })._domain;
  if (!domain) throw new Error('this Node REPL has no _domain: cannot count failed lines');
  domain.prependListener('error', onFailure);
}
