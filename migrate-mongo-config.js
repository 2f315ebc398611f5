// Configuration of the plain `npx migrate-mongo up|down|status|create` CLI. The settings come from
// the app's own configuration (.env, MONGODB_URI, MONGODB_DB; the embedded engine when
// MONGODB_URI is unset), which is TypeScript: tsx is registered first so that Node can load it.
// `npm run migrate -- <command>` adds the lock, the backup and the ordering checks on top.
import { register } from 'tsx/esm/api';

register();
const { migrateMongoCliConfig } = await import('./src/migrations/cli-config.ts');

export default await migrateMongoCliConfig();
