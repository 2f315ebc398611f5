import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('with an empty environment, gives development defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ env: 'development', host: '127.0.0.1', port: 3000 });
    expect(config.mongo).toMatchObject({ uri: undefined, dbName: 'microblog', poolSize: 20 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('uses the database named in MONGODB_URI unless MONGODB_DB is set; with neither, microblog', () => {
    const uri = 'mongodb://127.0.0.1:27017/myapp?retryWrites=true';
    expect(loadConfig({ MONGODB_URI: uri }).mongo.dbName).toBe('myapp');
    expect(loadConfig({ MONGODB_URI: uri, MONGODB_DB: 'other' }).mongo.dbName).toBe('other');
    expect(loadConfig({ MONGODB_URI: 'mongodb://127.0.0.1:27017' }).mongo.dbName).toBe('microblog');
  });

  it('refuses a URI naming the admin database as the app database, unless MONGODB_DB is set', () => {
    const uri = 'mongodb://app:pw@127.0.0.1:27017/admin';
    expect(() => loadConfig({ MONGODB_URI: uri })).toThrow(
      /^Invalid configuration: MONGODB_URI names the admin database: set MONGODB_DB/,
    );
    expect(loadConfig({ MONGODB_URI: uri, MONGODB_DB: 'microblog' }).mongo.dbName).toBe(
      'microblog',
    );
  });

  it('refuses MONGODB_DB naming a system database (admin, local, config), in any case', () => {
    for (const name of ['admin', 'local', 'config', 'Config']) {
      expect(() => loadConfig({ MONGODB_DB: name })).toThrow(
        /^Invalid configuration: MONGODB_DB names a system database/,
      );
    }
  });

  it('gives the local engine a fixed port clear of mongod (27117) unless EMBEDDED_PORT says otherwise', () => {
    expect(loadConfig({}).embedded.port).toBe(27117);
    expect(loadConfig({ EMBEDDED_PORT: '28000' }).embedded.port).toBe(28000);
    expect(() => loadConfig({ EMBEDDED_PORT: '0' })).toThrow(/EMBEDDED_PORT/);
  });

  it('when NODE_ENV=production and JWT_SECRET is missing, throws one line naming JWT_SECRET', () => {
    const uri = 'mongodb://db.internal:27017/blog';
    expect(() => loadConfig({ NODE_ENV: 'production', MONGODB_URI: uri })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', MONGODB_URI: uri })).toThrow(
      /^Invalid configuration: JWT_SECRET /,
    );
  });

  it('when NODE_ENV=production and MONGODB_URI is missing, throws one line saying what to set', () => {
    const attempt = () => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /^Invalid configuration: MONGODB_URI is required when NODE_ENV=production: set it to your MongoDB, e\.g\. mongodb:\/\/[^\n]*$/,
    );
  });

  it('bounds the heap growth at 50 % past the live heap unless HEAP_GROWING_PERCENT says otherwise (0: V8 decides)', () => {
    expect(loadConfig({}).lifecycle.heapGrowingPercent).toBe(50);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).lifecycle.heapGrowingPercent).toBe(0);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '100' }).lifecycle.heapGrowingPercent).toBe(100);
    for (const bad of ['-1', '12.5', 'lots', '401']) {
      expect(() => loadConfig({ HEAP_GROWING_PERCENT: bad })).toThrow(/HEAP_GROWING_PERCENT/);
    }
  });

  it('when PORT is not a number, names PORT', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  });

  it('when MONGODB_URI is not a mongodb URI, names MONGODB_URI', () => {
    expect(() => loadConfig({ MONGODB_URI: 'http://example.com' })).toThrow(/MONGODB_URI/);
  });

  it('when JWT_SECRET is too short, names JWT_SECRET', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });

  it('reads every documented key', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(40),
      MONGODB_URI: 'mongodb://db.internal:27017',
      MONGODB_DB: 'blog',
      PORT: '8080',
      TOKEN_TTL_SECONDS: '600',
    });
    expect(config.mongo.uri).toBe('mongodb://db.internal:27017');
    expect(config.mongo.dbName).toBe('blog');
    expect(config.port).toBe(8080);
    expect(config.auth).toEqual({
      jwtSecret: 'x'.repeat(40),
      tokenTtlSeconds: 600,
      cursorSecret: 'x'.repeat(40),
    });
  });
});

describe('loadConfig: HTTP, rate-limit and lifecycle settings', () => {
  it('defaults: no CORS origin, no trusted proxy, memory rate limits, 10 s shutdown', () => {
    const config = loadConfig({});
    expect(config.http).toMatchObject({ corsOrigins: [], trustProxyHops: 0 });
    expect(config.rateLimit).toEqual({
      store: 'memory',
      windowMs: 60_000,
      max: 300,
      loginWindowMs: 900_000,
      loginPerAccount: 10,
      loginPerAddress: 50,
    });
    expect(config.lifecycle).toEqual({
      heapGrowingPercent: 50,
      shutdownTimeoutMs: 10_000,
      connectAttempts: 10,
      connectBackoffMs: 500,
    });
  });

  it('reads every HTTP, rate-limit and lifecycle key', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      TRUST_PROXY_HOPS: '1',
      RATE_LIMIT_STORE: 'mongodb',
      RATE_LIMIT_WINDOW_MS: '30000',
      RATE_LIMIT_MAX: '50',
      LOGIN_RATE_LIMIT_WINDOW_MS: '60000',
      LOGIN_RATE_LIMIT_PER_ACCOUNT: '5',
      LOGIN_RATE_LIMIT_PER_ADDRESS: '20',
      SHUTDOWN_TIMEOUT_MS: '2500',
      MONGODB_CONNECT_ATTEMPTS: '3',
      MONGODB_CONNECT_BACKOFF_MS: '250',
      HEAP_GROWING_PERCENT: '25',
      MAX_IN_FLIGHT_PER_CLIENT: '4',
      MAX_IN_FLIGHT: '64',
      MAX_EVENT_LOOP_LAG_MS: '0',
    });
    expect(config.http.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.http.trustProxyHops).toBe(1);
    expect(config.rateLimit).toEqual({
      store: 'mongodb',
      windowMs: 30_000,
      max: 50,
      loginWindowMs: 60_000,
      loginPerAccount: 5,
      loginPerAddress: 20,
    });
    expect(config.lifecycle).toEqual({
      heapGrowingPercent: 25,
      shutdownTimeoutMs: 2500,
      connectAttempts: 3,
      connectBackoffMs: 250,
    });
    expect(config.load).toEqual({ maxInFlightPerClient: 4, maxInFlight: 64, maxEventLoopLagMs: 0 });
    expect(loadConfig({}).load).toEqual({
      maxInFlightPerClient: 8,
      maxInFlight: 256,
      maxEventLoopLagMs: 500,
    });
    expect(Object.isFrozen(config.http.corsOrigins)).toBe(true);
  });

  it.each([
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'javascript:alert(1)'],
    ['TRUST_PROXY_HOPS', 'true'],
    ['RATE_LIMIT_STORE', 'redis'],
    ['RATE_LIMIT_MAX', '0'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['MONGODB_CONNECT_ATTEMPTS', '-1'],
    ['MAX_IN_FLIGHT_PER_CLIENT', '0'],
    ['MAX_IN_FLIGHT', 'many'],
    ['MAX_EVENT_LOOP_LAG_MS', '-5'],
  ])('refuses %s=%s with one line naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^Invalid configuration: ${name} `),
    );
  });
});
