import type { Express } from 'express';
import { AppError } from '../shared/errors.ts';

/**
 * After every route: a request for a known path with a method it does not serve is 405 with an
 * Allow header naming the methods it does (HEAD wherever GET is, as Express answers it). OPTIONS
 * is answered 204 with the same Allow (CORS preflights are answered before this, by cors).
 */
export function answerUnknownMethods(
  app: Express,
  routes: ReadonlyArray<{ method: string; path: string }>,
): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    const methods = methodsByPath.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    if (method.toUpperCase() === 'GET') methods.add('HEAD');
    methodsByPath.set(path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    app.all(path, (req, res, next) => {
      res.setHeader('Allow', allow);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      next(new AppError('method-not-allowed', `${req.method} is not allowed here; use ${allow}`));
    });
  }
}
