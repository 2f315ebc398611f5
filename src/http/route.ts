import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Express, Request, RequestHandler, Response } from 'express';
import { type ZodType, z } from 'zod';
import { withSignal } from '../db/request-signal.ts';
import type { AuthUser, PendingUser } from '../shared/auth-user.ts';
import { AppError, type ErrorDetail } from '../shared/errors.ts';
import { statusByCode } from './error-handler.ts';
import { holdSlotUntil } from './load-shedding.ts';
import { errorResponseSchema } from './schemas.ts';

/**
 * required/optional: the token is checked against its user's record before the handler runs.
 * deferred: a token is required; its signature and expiry are checked first, and the handler
 * confirms it with a record it reads in one of its own queries (PendingUser.confirm). The answer
 * is sent only once the token is confirmed; a handler that forgets fails with a 500, not a leak.
 */
type AuthMode = 'required' | 'optional' | 'deferred' | 'none';
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec<
  P extends ZodType,
  Q extends ZodType,
  B extends ZodType,
  A extends AuthMode,
> {
  method: Method;
  /** Express path, e.g. /api/users/:id */
  path: string;
  summary: string;
  tag: string;
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  status: number;
  /** Success response body; omitted for 204. */
  response?: ZodType;
  /** Error statuses this route can answer, for the OpenAPI document. */
  errors: number[];
}

export interface HandlerInput<P, Q, B, A extends AuthMode> {
  params: P;
  query: Q;
  body: B;
  user: A extends 'required' ? AuthUser : A extends 'deferred' ? PendingUser : AuthUser | undefined;
  req: Request;
  res: Response;
}

export interface RouteDefinition {
  spec: RouteSpec<ZodType, ZodType, ZodType, AuthMode>;
  handle(input: HandlerInput<unknown, unknown, unknown, AuthMode>): Promise<unknown>;
}

/** A route is its schemas plus one handler: the same schemas validate and document it. */
export function defineRoute<
  P extends ZodType = ZodType<Record<string, never>>,
  Q extends ZodType = ZodType<Record<string, never>>,
  B extends ZodType = ZodType<undefined>,
  A extends AuthMode = 'none',
>(
  spec: RouteSpec<P, Q, B, A>,
  handle: (input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>, A>) => Promise<unknown>,
): RouteDefinition {
  return { spec, handle } as unknown as RouteDefinition;
}

export interface Authenticator {
  /** The token checked against its user's record; undefined without an Authorization header. */
  now(authorization: string | undefined): Promise<AuthUser | undefined>;
  /** The token's signature and expiry checked; the record is the handler's to read. */
  later(authorization: string | undefined): Promise<PendingUser | undefined>;
}

const emptyParams = z.strictObject({});
const emptyQuery = z.strictObject({});

function parse(schema: ZodType, value: unknown, location: string): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: ErrorDetail[] = result.error.issues.map((issue) => ({
    path: [location, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new AppError('validation-failed', `Invalid request ${location}`, details);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * res.json() without its per-request type lookups: the body is serialised here and handed to
 * res.send() as bytes with the Content-Type res.json() would have set, so Express still adds
 * Content-Length, the same ETag (it hashes these bytes either way) and a 304 for a fresh request.
 */
function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', JSON_TYPE);
  res.send(Buffer.from(JSON.stringify(body)));
}

/** Query keys given more than once (the parser makes them arrays): a clear refusal each. */
function repeatedKeys(query: unknown): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (Array.isArray(value))
      details.push({ path: `query.${key}`, message: `given ${value.length} times; give it once` });
  }
  return details;
}

/**
 * A route that takes a body reads JSON only: a body of another type (or of none) is 415, so the
 * client learns to fix the Content-Type instead of hunting for a missing field.
 */
function assertJsonBody(req: Request): void {
  const sent =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
  if (req.body !== undefined || !sent) return;
  throw new AppError(
    'unsupported-media-type',
    'This request takes a JSON body: send it with Content-Type: application/json',
  );
}

/** Aborted when the client hangs up before its answer is complete. */
function clientGone(res: Response): AbortSignal {
  const controller = new AbortController();
  const abort = () =>
    controller.abort(new AppError('overloaded', 'The client closed its connection'));
  if (res.destroyed) abort();
  else res.once('close', () => res.writableFinished || abort());
  return controller.signal;
}

/**
 * The route's work holds its in-flight slot until it settles, and runs with its client's signal:
 * its database calls stop when the client goes away (src/db/request-signal.ts).
 */
function toHandler(route: RouteDefinition, authenticator: Authenticator): RequestHandler {
  const handle = toWork(route, authenticator);
  return (req, res, next) => {
    const work = withSignal(clientGone(res), () => handle(req, res, next));
    holdSlotUntil(res, work);
    return work;
  };
}

function toWork(
  route: RouteDefinition,
  authenticator: Authenticator,
): (...args: Parameters<RequestHandler>) => Promise<void> {
  const { spec } = route;
  return async (req, res) => {
    let user: AuthUser | PendingUser | undefined;
    if (spec.auth === 'deferred') user = await authenticator.later(req.get('authorization'));
    else if (spec.auth !== 'none') user = await authenticator.now(req.get('authorization'));
    if (!user && (spec.auth === 'required' || spec.auth === 'deferred')) {
      throw new AppError('unauthenticated', 'This request needs a bearer token');
    }
    const params = parse(spec.params ?? emptyParams, req.params, 'params');
    const repeated = repeatedKeys(req.query);
    if (repeated.length > 0) {
      throw new AppError('validation-failed', 'Invalid request query', repeated);
    }
    const query = parse(spec.query ?? emptyQuery, req.query, 'query');
    if (spec.body) assertJsonBody(req);
    const body = spec.body ? parse(spec.body, req.body, 'body') : undefined;
    if (!spec.body && req.body !== undefined && Object.keys(req.body as object).length > 0) {
      throw new AppError('validation-failed', 'This request takes no body');
    }
    const result = await route.handle({
      params,
      query,
      body,
      user: user as AuthUser | undefined,
      req,
      res,
    });
    if (user && 'confirm' in user && !user.confirmed) {
      throw new Error(
        `${spec.method.toUpperCase()} ${spec.path} answered without confirming its token`,
      );
    }
    if (spec.status === 204) res.status(204).end();
    else sendJson(res, spec.status, result);
  };
}

export function mountRoutes(
  app: Express,
  routes: RouteDefinition[],
  authenticator: Authenticator,
): void {
  for (const route of routes) {
    app[route.spec.method](route.spec.path, toHandler(route, authenticator));
  }
}

const errorMeanings: Record<number, string> = {
  400: 'Invalid input',
  401: 'Missing, invalid or expired token, or wrong credentials',
  403: 'Authenticated, but not allowed to do this',
  404: 'No such resource',
  409: 'Conflicts with existing data',
  413: 'Body too large',
  415: 'Not a JSON body, a charset other than utf-8, or an unsupported body encoding',
  422: 'Well-formed, but not allowed in this state',
  429: 'Too many requests: wait the seconds in Retry-After',
  431: 'Request headers too large',
  500: 'Internal error; the log has the details under the X-Request-Id',
  503: 'Database unavailable (retry after the seconds in Retry-After), or behind the code (writes wait for its migrations or indexes)',
};

/** "Meaning (code, code)", from the error handler's own list of codes. */
function describeStatus(status: number): string {
  const codes = Object.entries(statusByCode)
    .filter(([, s]) => s === status)
    .map(([code]) => code);
  return `${errorMeanings[status] ?? 'Error'} (${codes.join(', ')})`;
}

// Any route can meet these: a malformed, oversized or non-JSON body, the rate limit, oversized
// headers, a bug, an outage.
const COMMON_ERRORS = [400, 413, 415, 429, 431, 500, 503];

export function registerOpenApiPaths(registry: OpenAPIRegistry, routes: RouteDefinition[]): void {
  for (const { spec } of routes) {
    const responses: RouteConfig['responses'] = {
      [spec.status]: spec.response
        ? { description: spec.summary, content: { 'application/json': { schema: spec.response } } }
        : { description: spec.summary },
    };
    for (const status of new Set([...spec.errors, ...COMMON_ERRORS])) {
      responses[status] = {
        description: describeStatus(status),
        content: { 'application/json': { schema: errorResponseSchema } },
      };
    }
    registry.registerPath({
      method: spec.method,
      path: spec.path.replace(/:([A-Za-z]+)/g, '{$1}'),
      summary: spec.summary,
      tags: [spec.tag],
      security:
        spec.auth === 'required' || spec.auth === 'deferred' ? [{ bearerAuth: [] }] : undefined,
      request: {
        params: spec.params as z.ZodObject | undefined,
        query: spec.query as z.ZodObject | undefined,
        body: spec.body
          ? { required: true, content: { 'application/json': { schema: spec.body } } }
          : undefined,
      },
      responses,
    });
  }
}
