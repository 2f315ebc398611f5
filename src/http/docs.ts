import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Express } from 'express';

// The package's folder, found without loading its index, which requires the browser bundles
// (tens of megabytes of resident memory in the API for code that only ever runs in browsers).
const ASSETS = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>microblog-mongo API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-ui-standalone-preset.js"></script>
    <script src="/docs/swagger-initializer.js"></script>
  </body>
</html>
`;

// An external file, not an inline script, so the Content-Security-Policy can stay script-src
// 'self'. validatorUrl: null keeps the page from calling swagger.io.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Swagger UI at /docs, reading /openapi.json. Its assets come from the swagger-ui-dist package
 * and are served from here: no CDN, so the page works offline and under a strict CSP.
 */
export function mountDocs(app: Express): void {
  app.get(['/docs', '/docs/', '/docs/index.html'], (_req, res) => {
    res.type('html').send(PAGE);
  });
  app.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('js').send(INITIALIZER);
  });
  app.use('/docs', express.static(ASSETS, { index: false, maxAge: '1h' }));
}
