import { deepStrictEqual } from 'node:assert';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Document, MongoClient } from 'mongodb';

export interface Probe {
  name: string;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface CommandCount {
  /** Commands of one request in steady state, as "command collection". */
  commands: string[];
  /** Of those, the token check of an authenticated request (a find of the user by _id). */
  tokenCheck: number;
  /** The body, for comparing the API with the baseline. */
  json: unknown;
}

const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

export function commandLabel(event: { commandName: string; command: Document }): string {
  const collection = event.command[event.commandName];
  return typeof collection === 'string' ? `${event.commandName} ${collection}` : event.commandName;
}

/**
 * A read of users that includes tokenVersion is a token check: authenticate()'s own, or the
 * feed's read of its authors, which confirms the reader's token in the same command.
 */
function isTokenCheck(event: { commandName: string; command: Document }): boolean {
  const projection = event.command.projection ?? {};
  const fields = projection instanceof Map ? [...projection.keys()] : Object.keys(projection);
  return (
    event.commandName === 'find' &&
    event.command.find === 'users' &&
    fields.includes('tokenVersion')
  );
}

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Serves `listener` in this process and sends each probe twice, recording the driver's
 * commandStarted events of the second one (the first may pay once-a-minute work such as the
 * lastSeen write, reported separately as `firstCommands`).
 */
export async function countCommands(
  client: MongoClient,
  dbName: string,
  listener: RequestListener,
  probes: Probe[],
): Promise<Map<string, CommandCount & { firstCommands: string[] }>> {
  const { server, url } = await listen(listener);
  const counts = new Map<string, CommandCount & { firstCommands: string[] }>();
  try {
    for (const probe of probes) {
      const send = async () => {
        const recording = recordCommands(client, dbName);
        const res = await fetch(`${url}${probe.path}`, {
          method: probe.method ?? 'GET',
          headers: {
            ...probe.headers,
            ...(probe.body ? { 'content-type': 'application/json' } : {}),
          },
          body: probe.body,
        }).finally(() => recording.stop());
        const json = await res.json();
        if (res.status >= 300)
          throw new Error(`${probe.name} answered ${res.status}: ${JSON.stringify(json)}`);
        return { json, seen: recording.events };
      };
      const first = await send();
      const second = await send();
      counts.set(probe.name, {
        commands: second.seen.map(commandLabel),
        tokenCheck: second.seen.filter(isTokenCheck).length,
        json: second.json,
        firstCommands: first.seen.map(commandLabel),
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return counts;
}

type CommandEvent = { commandName: string; command: Document; databaseName: string };

/** Records the commands the client sends to `dbName` (but housekeeping) until stopped. */
export function recordCommands(client: MongoClient, dbName: string) {
  const events: CommandEvent[] = [];
  const listener = (event: CommandEvent) => {
    if (!HOUSEKEEPING.has(event.commandName) && event.databaseName === dbName) events.push(event);
  };
  client.on('commandStarted', listener);
  return { events, stop: () => client.off('commandStarted', listener) };
}

/** Fails the run when the baseline does not return the API's JSON: it would measure other work. */
export function assertSameJson(api: unknown, baseline: unknown, name: string): void {
  try {
    deepStrictEqual(baseline, api);
  } catch {
    throw new Error(`the baseline's answer to ${name} differs from the API's`);
  }
}
