import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type supertest from 'supertest';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped once more.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
type OpenApiDocument = { paths: Record<string, Record<string, Json>> };

export interface ReceivedResponse {
  method: string;
  url: string;
  status: number;
  contentType: string | undefined;
  text: string;
  body: unknown;
}

/** Paths that are not the API but its description. */
const UNDESCRIBED = /^\/(openapi\.json$|docs(\/|$))/;
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/**
 * Checks a response against an OpenAPI 3.1 document: the path and method must be described
 * (else only a 404 in the Error shape is allowed), the status must be listed, and the body must
 * validate (draft 2020-12, with formats). Response objects are held to exactly their documented
 * properties: an undocumented field is drift too.
 */
export class OpenApiChecker {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ template: string; pattern: RegExp }>;
  private readonly document: OpenApiDocument;

  constructor(document: OpenApiDocument) {
    this.document = closeObjects(structuredClone(document)) as OpenApiDocument;
    this.ajv.addSchema(this.document as object, 'openapi');
    this.routes = Object.keys(this.document.paths).map((template) => ({
      template,
      pattern: new RegExp(
        `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
      ),
    }));
  }

  /** A sentence describing how the response departs from the document, or undefined. */
  check(response: ReceivedResponse): string | undefined {
    const method = response.method.toLowerCase();
    if (!METHODS.has(method)) return undefined;
    const path = new URL(response.url, 'http://x').pathname;
    if (UNDESCRIBED.test(path)) return undefined;
    const where = `${response.method.toUpperCase()} ${path} answered ${response.status}`;
    const template = this.routes.find((r) => r.pattern.test(path))?.template;
    const operation = template ? this.document.paths[template]?.[method] : undefined;
    if (!template || !operation) {
      // A described path with a method it lacks is 405; a path the document lacks is 404.
      const expected = template ? 405 : 404;
      if (response.status !== expected)
        return `${where}, but the OpenAPI document has no such operation`;
      return this.validate(response, '#/components/schemas/Error', where);
    }
    const responses = operation.responses as Record<string, Json>;
    const status = String(response.status);
    if (!responses[status]) {
      return `${where}, which the OpenAPI document does not list (it lists ${Object.keys(responses).join(', ')})`;
    }
    const content = responses[status].content as Record<string, unknown> | undefined;
    if (!content?.['application/json']) {
      return response.text ? `${where} with a body the document does not describe` : undefined;
    }
    const pointer = ['paths', template, method, 'responses', status, 'content', 'application/json']
      .map((segment) => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1')))
      .join('/');
    return this.validate(response, `#/${pointer}/schema`, where);
  }

  private validate(response: ReceivedResponse, pointer: string, where: string): string | undefined {
    if (!response.contentType?.startsWith('application/json')) {
      return `${where} with content-type ${response.contentType ?? 'none'}, not application/json`;
    }
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi${pointer}` });
      this.validators.set(pointer, validate);
    }
    if (validate(response.body)) return undefined;
    const errors = (validate.errors ?? [])
      .map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
      .join('; ');
    return `${where} with a body that does not match the OpenAPI document: ${errors}\nbody: ${response.text.slice(0, 500)}`;
  }
}

/** Marks every object schema without an additionalProperties rule as closed. */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
  } else if (node && typeof node === 'object') {
    const schema = node as Json;
    if (
      typeof schema.properties === 'object' &&
      !('additionalProperties' in schema) &&
      !('unevaluatedProperties' in schema)
    ) {
      schema.unevaluatedProperties = false;
    }
    Object.values(schema).forEach(closeObjects);
  }
  return node;
}

type Callback = (error: unknown, res: supertest.Response) => void;

/**
 * Wraps a supertest agent so that every response it receives is checked against the document:
 * a response that departs from it fails the awaiting test with the reason.
 */
export function checkedAgent(agent: supertest.Agent, checker: OpenApiChecker): supertest.Agent {
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !METHODS.has(property) || typeof value !== 'function') {
        return value;
      }
      return (...args: unknown[]) => {
        const test = value.apply(target, args) as supertest.Test;
        const end = test.end.bind(test);
        test.end = (callback?: Callback) =>
          end((error: unknown, res: supertest.Response) => {
            const problem =
              !error && res
                ? checker.check({
                    method: test.method,
                    url: test.url,
                    status: res.status,
                    contentType: res.headers['content-type'],
                    text: res.text ?? '',
                    body: res.body,
                  })
                : undefined;
            callback?.(problem ? new Error(problem) : error, res);
          });
        return test;
      };
    },
  });
}
