import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('hardening settings in loadConfig', () => {
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
      shutdownTimeoutMs: 10_000,
      connectAttempts: 10,
      connectBackoffMs: 500,
    });
  });

  it('reads every hardening key', () => {
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
      shutdownTimeoutMs: 2500,
      connectAttempts: 3,
      connectBackoffMs: 250,
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
  ])('refuses %s=%s with one line naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^Invalid configuration: ${name} `),
    );
  });
});
