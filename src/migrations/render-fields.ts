import { type Change, describeChange, describeField } from './diff.ts';
import type { FieldState } from './model-state.ts';

/** Lines of a generated migration, one direction of one step. */
export interface Step {
  up: string[];
  down: string[];
  /** Steps the author must write (marked in the file, named in the command's summary). */
  manual: string[];
}

// The field steps of a generated migration: backfills and removals through the kit's batched
// updateInBatches, and marked steps (unwrittenStep) where only the author knows the values.

export function fillField(
  collection: string,
  path: string,
  field: FieldState,
  what: string,
): string[] {
  const head = `// ${collection}: ${what} (${describeField(field)})`;
  if (field.default && 'value' in field.default) {
    return [
      `${head}: the default on every document that lacks it, in batches.`,
      `await updateInBatches(db, ${JSON.stringify(collection)}, {`,
      `  label: ${JSON.stringify(`${collection}.${path} backfill`)},`,
      `  filter: ${JSON.stringify({ [path]: { $exists: false } })},`,
      `  update: ${JSON.stringify({ $set: { [path]: field.default.value } })},`,
      '});',
    ];
  }
  if (path.includes('[].')) {
    return [`${head}: inside an array of subdocuments; backfill by hand if the code needs it.`];
  }
  if (field.required) {
    return [
      `${head}.`,
      `// TODO(generate): give every ${collection} document without ${path} a value (updateInBatches or`,
      '// transformInBatches from the kit, re-runnable), then delete the unwrittenStep line.',
      `unwrittenStep(${JSON.stringify(`a value for the required ${collection}.${path} in existing documents`)});`,
    ];
  }
  if (field.default) {
    return [
      `${head}: a computed default is not backfilled (it would be this migration's value);`,
      '// existing documents stay without it: add a backfill here if the code needs one.',
    ];
  }
  return [`${head}: optional, no default to fill in; existing documents stay without it.`];
}

export function manualFor(
  collection: string,
  path: string,
  field: FieldState,
  what: string,
): string[] {
  const constant = field.default && 'value' in field.default;
  if (!field.required || constant || path.includes('[].')) return [];
  return [`a value for the ${what} required field ${collection}.${path} in existing documents`];
}

export function unsetField(collection: string, path: string, comment?: string): string[] {
  return [
    ...(comment ? [`// ${comment}`] : []),
    `await updateInBatches(db, ${JSON.stringify(collection)}, {`,
    `  label: ${JSON.stringify(`${collection}.${path} removal`)},`,
    `  filter: ${JSON.stringify({ [path]: { $exists: true } })},`,
    `  update: ${JSON.stringify({ $unset: { [path]: '' } })},`,
    '});',
  ];
}

export function restoreRemoved(collection: string, path: string, field: FieldState): string[] {
  if (field.default && 'value' in field.default) {
    return fillField(
      collection,
      path,
      field,
      `restore the removed field ${path} with its old default`,
    );
  }
  return [
    `// ${collection}.${path} was removed by up; its values are only in the backup up made first.`,
  ];
}

export function changedField(change: Extract<Change, { kind: 'change-field' }>): Step {
  const { collection: c, path, from, to, aspects } = change;
  const up: string[] = [`// ${describeChange(change)}`];
  const down: string[] = [`// ${c}.${path}: back to ${describeField(from)}.`];
  const manual: string[] = [];
  if (aspects.includes('type')) {
    const what = `convert ${c}.${path} from ${from.type} to ${to.type}`;
    up.push(
      '// TODO(generate): a changed type is never converted by guesswork. Write the conversion',
      '// (transformInBatches from the kit, re-runnable), then delete the unwrittenStep line.',
      `unwrittenStep(${JSON.stringify(what)});`,
    );
    down.push(
      `// TODO(generate): convert ${c}.${path} back to ${from.type}, then delete the unwrittenStep line.`,
      `unwrittenStep(${JSON.stringify(`convert ${c}.${path} back from ${to.type} to ${from.type}`)});`,
    );
    manual.push(what);
  } else if (to.required && !from.required) {
    up.push(...fillField(c, path, to, `${path} is now required`).slice(1));
    manual.push(...manualFor(c, path, to, 'now'));
    down.push('// Nothing to undo in the data: the field is optional again.');
  } else {
    up.push('// Only new documents are affected: existing ones keep their values.');
    if (aspects.includes('enum') && to.enum) {
      const outside = { [path]: { $exists: true, $nin: to.enum } };
      up.push(
        `// Documents outside the new list: db.${c}.countDocuments(${JSON.stringify(outside)})`,
      );
    }
    down.push('// Nothing to undo in the data.');
  }
  return { up, down, manual };
}
