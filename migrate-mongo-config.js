// Configuration of the plain `npx migrate-mongo up|down|status|create` CLI. The settings come from
// the app's own configuration (.env, MONGODB_URI, MONGODB_DB; the embedded engine when
// MONGODB_URI is unset), which is TypeScript: Node (22.18+) strips its types when importing it.
// `npm run migrate -- <command>` adds the lock, the backup and the ordering checks on top.
const { migrateMongoCliConfig } = await import('./src/migrations/cli-config.ts');

export default await migrateMongoCliConfig();
