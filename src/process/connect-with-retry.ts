import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  attempts: number;
  /** Wait after the first failure; doubles after each one, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs?: number;
  /** Only these failures are worth another attempt (an outage, not a wrong password). */
  retryable: (error: unknown) => boolean;
  log: (message: string) => void;
  /** Aborting (a shutdown during start-up) ends the waiting and the attempts. */
  signal?: AbortSignal;
}

const reason = (error: unknown) =>
  error instanceof Error ? error.message.split('\n')[0] : String(error);

/** Runs `connect` until it succeeds, with exponential backoff and one log line per failure. */
export async function connectWithRetry<T>(
  connect: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await connect();
    } catch (error) {
      const last = attempt >= options.attempts || !options.retryable(error);
      if (last || options.signal?.aborted) throw error;
      const wait = Math.min(options.backoffMs * 2 ** (attempt - 1), maxBackoffMs);
      options.log(
        `database not reachable (attempt ${attempt} of ${options.attempts}): ${reason(error)}; retrying in ${wait} ms`,
      );
      await sleep(wait, undefined, { signal: options.signal });
    }
  }
}
