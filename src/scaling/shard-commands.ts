import { COLLECTIONS } from './shard-plan.ts';

export interface ShardStep {
  /** The database the command runs on. */
  database: string;
  command: Record<string, unknown>;
}

/** The name MongoDB gives an index of this key ({author: 'hashed', _id: 1} -> author_hashed__id_1). */
export function indexName(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([field, kind]) => `${field}_${kind}`)
    .join('_');
}

/**
 * The commands that apply the plan to a database on a sharded cluster, in order: sharding
 * enabled for the database (needed before MongoDB 6.0, accepted since), the index a shard key
 * needs where the migrations do not create one (shardCollection builds it only on an empty
 * collection), then one shardCollection per sharded collection. A unique key index (follows)
 * keeps enforcing uniqueness, cluster-wide.
 */
export function shardSteps(dbName: string): ShardStep[] {
  const steps: ShardStep[] = [{ database: 'admin', command: { enableSharding: dbName } }];
  for (const plan of COLLECTIONS) {
    if (!plan.shardKey) continue;
    if (plan.keyIndex === 'create') {
      steps.push({
        database: dbName,
        command: {
          createIndexes: plan.name,
          indexes: [{ key: plan.shardKey, name: indexName(plan.shardKey) }],
        },
      });
    }
    steps.push({
      database: 'admin',
      command: {
        shardCollection: `${dbName}.${plan.name}`,
        key: plan.shardKey,
        ...(plan.uniqueKey ? { unique: true } : {}),
      },
    });
  }
  return steps;
}

/** A step as a line mongosh runs as is. */
export function mongoshLine(step: ShardStep): string {
  const command = JSON.stringify(step.command);
  return step.database === 'admin'
    ? `db.adminCommand(${command})`
    : `db.getSiblingDB(${JSON.stringify(step.database)}).runCommand(${command})`;
}
