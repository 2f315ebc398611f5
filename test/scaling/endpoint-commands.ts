import type supertest from 'supertest';
import type { TestApp } from '../helpers/app.ts';

export interface EndpointCommand {
  /** `GET /api/users/:id/posts`: the route's method and path template. */
  endpoint: string;
  name: string;
  command: Record<string, unknown>;
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Turns a request path into its route's template, with the OpenAPI document's paths. */
function templateOf(paths: string[]): (path: string) => string {
  const routes = paths
    .map((template) => ({
      template: template.replace(/\{(\w+)\}/g, ':$1'),
      pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
      params: (template.match(/\{/g) ?? []).length,
    }))
    .sort((a, b) => a.params - b.params); // a literal segment wins over a parameter
  return (path) => {
    const bare = path.split('?')[0] ?? path;
    return routes.find((r) => r.pattern.test(bare))?.template ?? bare;
  };
}

/**
 * Runs `fn` with an agent whose requests are labelled by route, and returns every database
 * command sent to the app's database with the route of the request that sent it (driver
 * command monitoring). Requests must run one at a time: commands are attributed to the one in
 * flight, so a second request started before the first ended fails the recording.
 */
export async function recordCommandsByEndpoint(
  t: TestApp,
  fn: (api: supertest.Agent) => Promise<void>,
): Promise<EndpointCommand[]> {
  const paths = Object.keys(
    (t.app.locals.openApiDocument as { paths: Record<string, unknown> }).paths,
  );
  const template = templateOf(paths);
  const recorded: EndpointCommand[] = [];
  let current: string | undefined;
  const agent = new Proxy(t.api, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !METHODS.has(property) || typeof value !== 'function') {
        return value;
      }
      return (path: string, ...rest: unknown[]) => {
        const test = value.apply(target, [path, ...rest]) as supertest.Test;
        const label = `${property.toUpperCase()} ${template(path)}`;
        const end = test.end.bind(test);
        test.end = (callback) => {
          if (current) throw new Error(`${label} started while ${current} was in flight`);
          current = label;
          return end((error, res) => {
            current = undefined;
            callback?.(error, res);
          });
        };
        return test;
      };
    },
  });
  const client = t.db.connection.getClient();
  const listener = (e: {
    commandName: string;
    command: Record<string, unknown>;
    databaseName: string;
  }) => {
    if (e.databaseName !== t.db.connection.name) return;
    recorded.push({ endpoint: current ?? '(no request)', name: e.commandName, command: e.command });
  };
  client.on('commandStarted', listener);
  try {
    await fn(agent);
  } finally {
    client.off('commandStarted', listener);
  }
  return recorded;
}
