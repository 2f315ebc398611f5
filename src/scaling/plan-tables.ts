import { COLLECTIONS, QUERIES } from './shard-plan.ts';

/**
 * docs/scaling.md's tables of the plan, as Markdown rows: test/scaling/scaling-docs.test.ts keeps
 * the document equal to them.
 */
export function collectionRows(): string[] {
  return COLLECTIONS.map(
    (c) =>
      `| \`${c.name}\` | ${c.shardKey ? `\`${JSON.stringify(c.shardKey)}\`` : 'unsharded'} | ${c.why} |`,
  );
}

export function uniqueRows(): string[] {
  return COLLECTIONS.flatMap((c) =>
    c.unique.map((u) => `| \`${c.name}\` | \`${u.index}\` | ${u.how} |`),
  );
}

export function queryRows(): string[] {
  return QUERIES.map(
    (q) =>
      `| \`${q.endpoint}\` | \`${q.collection}\` | \`${q.command}\` | ${q.routing}${q.onlyOn ? ` (${q.onlyOn} only)` : ''} | ${q.why ?? ''} |`,
  );
}
