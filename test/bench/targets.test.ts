import { describe, expect, it } from 'vitest';
import type { EndpointResult, LoadResult } from '../../scripts/bench/endpoints.ts';
import type { OdmResult } from '../../scripts/bench/odm.ts';
import { parseOptions } from '../../scripts/bench/options.ts';
import { evaluateTargets, type Target } from '../../scripts/bench/targets.ts';

// `npm run bench -- --check` exits 1 when a target fails: these hold the evaluation of the
// layer targets (API over Express alone, Mongoose over the driver) to what they promise.

function load(cpuMicrosPerRequest: number, requests = 1000): LoadResult {
  return {
    rps: requests / 10,
    latencyMs: { p50: 1, p99: 3 },
    usage: {
      requests,
      cpuMicros: cpuMicrosPerRequest * requests,
      cpuMicrosPerRequest,
      eventLoopUtilization: 0.5,
      maxRssBytes: 100 * 1024 * 1024,
      seconds: 10,
    },
  };
}

function read(
  name: string,
  cpu: { api: number; floor?: number; baseline?: number },
): EndpointResult {
  return {
    name,
    list: true,
    api: load(cpu.api),
    baseline: load(cpu.baseline ?? cpu.api),
    floor: cpu.floor === undefined ? undefined : load(cpu.floor),
    profiles: {},
    commands: { api: ['find posts', 'find users'], apiFirst: [], tokenCheck: 0 },
  };
}

function odm(name: string, mongoose: number, driver: number): OdmResult {
  return {
    name,
    commands: ['find posts', 'find users'],
    iterations: 100,
    rounds: 2,
    mongooseMicros: mongoose,
    driverMicros: driver,
    perRound: { mongoose: [mongoose, mongoose], driver: [driver, driver] },
  };
}

const find = (targets: Target[], part: string, endpoint: string) => {
  const t = targets.find((x) => x.name.startsWith(endpoint) && x.name.includes(part));
  if (!t) throw new Error(`no target "${endpoint} … ${part}" in ${targets.map((x) => x.name)}`);
  return t;
};

describe('bench targets: each layer over the one below', () => {
  it('the API within 1.10x of Express alone: FAIL above, PASS at or below, per read', () => {
    const targets = evaluateTargets({
      endpoints: [
        read('GET /api/posts', { api: 1200, floor: 1000 }),
        read('GET /api/posts/:id', { api: 1100, floor: 1000 }),
      ],
    });
    expect(find(targets, 'Express alone', 'GET /api/posts ')).toMatchObject({
      status: 'FAIL',
      detail: '1200 µs vs 1000 µs (1.20x)',
    });
    expect(find(targets, 'Express alone', 'GET /api/posts/:id').status).toBe('PASS');
  });

  it('the API-over-Express target is SKIP with the reason when Express alone was not measured', () => {
    const targets = evaluateTargets({
      endpoints: [read('GET /api/feed', { api: 5000 })],
    });
    expect(find(targets, 'Express alone', 'GET /api/feed')).toMatchObject({
      status: 'SKIP',
      detail: expect.stringContaining('--floor'),
    });
  });

  it('the API-over-Express target is SKIP when too few requests were measured', () => {
    const endpoint = read('GET /api/feed', { api: 5000, floor: 1000 });
    endpoint.floor = load(1000, 5);
    const targets = evaluateTargets({ endpoints: [endpoint] });
    expect(find(targets, 'Express alone', 'GET /api/feed').status).toBe('SKIP');
  });

  it('Mongoose within 1.25x of the driver: FAIL above, PASS at or below, SKIP when not run', () => {
    const targets = evaluateTargets({
      endpoints: [],
      odm: [odm('GET /api/posts', 1300, 1000), odm('GET /api/feed', 1250, 1000)],
    });
    expect(find(targets, 'Mongoose read', 'GET /api/posts')).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('1300 µs vs 1000 µs (1.30x'),
    });
    expect(find(targets, 'Mongoose read', 'GET /api/feed').status).toBe('PASS');
    const none = evaluateTargets({ endpoints: [] });
    expect(find(none, 'Mongoose read', 'every read').status).toBe('SKIP');
    expect(find(none, 'Express alone', 'every read').status).toBe('SKIP');
  });

  it('--check turns --floor on, which the API-over-Express target needs', () => {
    expect(parseOptions(['--check']).floor).toBe(true);
    expect(parseOptions([]).floor).toBe(false);
    expect(parseOptions(['--only', 'odm', '--odm-iterations', '50']).odm.iterations).toBe(50);
    expect(() => parseOptions(['--odm-rounds', '0'])).toThrow(/--odm-rounds/);
  });
});
