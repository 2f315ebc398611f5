import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { type RouteDefinition, registerOpenApiPaths } from './route.ts';

/** The OpenAPI 3.1 document, built once from the schemas that validate the requests. */
export function buildOpenApiDocument(routes: RouteDefinition[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  registerOpenApiPaths(registry, routes);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'microblog-mongo API',
      version: '0.1.0',
      description: 'Users and posts of the Flask-SQLAlchemy microblog tutorials, on MongoDB.',
    },
    servers: [{ url: '/' }],
  });
}

/** Every query parameter name the document declares, on any operation. */
export function queryParameterNames(
  document: ReturnType<typeof buildOpenApiDocument>,
): Set<string> {
  const names = new Set<string>();
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      const parameters = (operation as { parameters?: { in?: string; name?: string }[] })
        .parameters;
      for (const p of parameters ?? []) if (p.in === 'query' && p.name) names.add(p.name);
    }
  }
  return names;
}
