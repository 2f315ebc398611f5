/**
 * The import rules of src/ and scripts/ (`npm run deps`, part of `npm run check`): layers point
 * down, no cycle, and a feature uses another feature's queries, never its service or routes.
 *
 * LAYERS lists src/ bottom-up; a file may import from its own layer and the ones listed before
 * it, never from one listed after. Within a floor of several folders, none imports another.
 */
const LAYERS = [
  ['shared'],
  ['config.ts', 'logger.ts'],
  ['process'],
  ['db'],
  ['http'],
  // The start-up of every script (.env, signals, exit codes, the local engine).
  ['cli'],
  // Features, each only above those it uses.
  ['users', 'tags', 'health', 'backups', 'scaling'],
  ['follows', 'auth'],
  ['posts'],
  ['feed', 'accounts'],
  // Composition roots and entry points.
  ['models.ts'],
  ['migrations'],
  ['app.ts'],
  ['main.ts'],
];

/** The microblog itself: the folders a reader comes to learn from. */
const FEATURES = ['users', 'tags', 'follows', 'auth', 'posts', 'feed', 'accounts'];

const pathOf = (name) => `^src/${name.replace('.', '\\.')}${name.endsWith('.ts') ? '$' : '/'}`;
const any = (names) => names.map(pathOf).join('|');

const layerRules = LAYERS.flatMap((floor, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return floor.flatMap((name) => {
    const forbidden = [...above, ...floor.filter((other) => other !== name)];
    if (forbidden.length === 0) return [];
    return [
      {
        name: `layers: ${name}`,
        comment: `src/${name} imports only what LAYERS lists below it (or on its floor)`,
        severity: 'error',
        from: { path: pathOf(name) },
        to: { path: any(forbidden) },
      },
    ];
  });
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No file reaches itself through its imports',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unlisted-folder',
      comment: 'Every folder of src/ has its place in LAYERS (.dependency-cruiser.cjs)',
      severity: 'error',
      from: { path: '^src/', pathNot: any(LAYERS.flat()) },
      to: {},
    },
    {
      name: 'feature-uses-queries-not-services',
      comment: "A feature uses another feature's queries, never its service or routes",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/(service|routes)\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'features-read-as-plain-mongoose',
      comment:
        'Engine differences live beneath the models (src/db): a feature never asks which engine it runs on',
      severity: 'error',
      from: { path: `^src/(${FEATURES.join('|')})/` },
      to: { path: '^src/db/(document-turns|capabilities|engine-limits)\\.' },
    },
    {
      name: 'models-registry-only-models',
      comment: 'src/models.ts registers the models: it imports model files and src/db only',
      severity: 'error',
      from: { path: '^src/models\\.ts$' },
      to: {
        path: '^src/',
        pathNot: ['^src/[^/]+/model\\.ts$', '^src/[^/]+/[a-z]+-model\\.ts$', '^src/db/'],
      },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
