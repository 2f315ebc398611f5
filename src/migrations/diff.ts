import { isDeepStrictEqual } from 'node:util';
import {
  type CollectionState,
  describeIndex,
  type FieldState,
  type IndexState,
  type ModelState,
} from './model-state.ts';

export type FieldAspect = 'type' | 'required' | 'default' | 'enum';

/** One structural difference between two model states, as a migration has to handle it. */
export type Change =
  | { kind: 'add-collection'; collection: string; state: CollectionState }
  | { kind: 'remove-collection'; collection: string; state: CollectionState }
  | { kind: 'add-index'; collection: string; index: IndexState }
  | { kind: 'remove-index'; collection: string; index: IndexState }
  | { kind: 'change-index'; collection: string; from: IndexState; to: IndexState }
  | { kind: 'add-field'; collection: string; path: string; field: FieldState }
  | { kind: 'remove-field'; collection: string; path: string; field: FieldState }
  | {
      kind: 'change-field';
      collection: string;
      path: string;
      from: FieldState;
      to: FieldState;
      aspects: FieldAspect[];
    }
  /** The collection's $jsonSchema validator must be (re)installed or removed. */
  | {
      kind: 'validator';
      collection: string;
      from: CollectionState | undefined;
      to: CollectionState | undefined;
    };

/** What differs from `from` to `to`, collections in name order, each one's changes grouped. */
export function diffStates(from: ModelState, to: ModelState): Change[] {
  const changes: Change[] = [];
  const names = [...new Set([...Object.keys(from.collections), ...Object.keys(to.collections)])];
  for (const collection of names.sort()) {
    const before = from.collections[collection];
    const after = to.collections[collection];
    if (!before && after) changes.push({ kind: 'add-collection', collection, state: after });
    if (before && !after) changes.push({ kind: 'remove-collection', collection, state: before });
    if (before && after) {
      changes.push(...diffIndexes(collection, before.indexes, after.indexes));
      changes.push(...diffFields(collection, before.fields, after.fields));
    }
    if (validatorChanged(before, after)) {
      changes.push({
        kind: 'validator',
        collection,
        from: before?.validator ? before : undefined,
        to: after?.validator ? after : undefined,
      });
    }
  }
  return changes;
}

function diffIndexes(collection: string, before: IndexState[], after: IndexState[]): Change[] {
  const changes: Change[] = [];
  const old = new Map(before.map((index) => [index.name, index]));
  const now = new Map(after.map((index) => [index.name, index]));
  for (const [name, index] of old) {
    const next = now.get(name);
    if (!next) changes.push({ kind: 'remove-index', collection, index });
    else if (!isDeepStrictEqual(index, next)) {
      changes.push({ kind: 'change-index', collection, from: index, to: next });
    }
  }
  for (const [name, index] of now) {
    if (!old.has(name)) changes.push({ kind: 'add-index', collection, index });
  }
  return changes;
}

function diffFields(
  collection: string,
  before: Record<string, FieldState>,
  after: Record<string, FieldState>,
): Change[] {
  const changes: Change[] = [];
  const removed = Object.keys(before).filter((path) => !(path in after));
  for (const path of removed) {
    // Unsetting the parent removes its children too.
    if (removed.some((parent) => isInside(path, parent))) continue;
    changes.push({ kind: 'remove-field', collection, path, field: before[path] as FieldState });
  }
  for (const [path, field] of Object.entries(after)) {
    const old = before[path];
    if (!old) {
      changes.push({ kind: 'add-field', collection, path, field });
      continue;
    }
    const aspects = (['type', 'required', 'default', 'enum'] as const).filter(
      (aspect) => !isDeepStrictEqual(old[aspect], field[aspect]),
    );
    if (aspects.length > 0) {
      changes.push({ kind: 'change-field', collection, path, from: old, to: field, aspects });
    }
  }
  return changes;
}

function isInside(path: string, parent: string): boolean {
  return path.startsWith(`${parent}.`) || path.startsWith(`${parent}[].`);
}

function validatorChanged(before?: CollectionState, after?: CollectionState): boolean {
  if (!before?.validator && !after?.validator) return false;
  if (!before?.validator || !after?.validator) return true;
  return (
    before.validator.validationAction !== after.validator.validationAction ||
    !isDeepStrictEqual(before.fields, after.fields)
  );
}

/** One line per change, for the summary and for `check`. */
export function describeChange(change: Change): string {
  const c = change.collection;
  switch (change.kind) {
    case 'add-collection':
      return `${c}: new collection (model ${change.state.model}, ${change.state.indexes.length} indexes)`;
    case 'remove-collection':
      return `${c}: collection removed (model ${change.state.model})`;
    case 'add-index':
      return `${c}: new index ${describeIndex(change.index)}`;
    case 'remove-index':
      return `${c}: index removed ${describeIndex(change.index)}`;
    case 'change-index':
      return `${c}: index changed ${describeIndex(change.from)} -> ${describeIndex(change.to)}`;
    case 'add-field':
      return `${c}: new field ${change.path} (${describeField(change.field)})`;
    case 'remove-field':
      return `${c}: field removed ${change.path} (${describeField(change.field)})`;
    case 'change-field':
      return `${c}: field ${change.path} changed ${change.aspects.join(', ')}: ${describeField(change.from)} -> ${describeField(change.to)}`;
    case 'validator':
      if (!change.to) return `${c}: $jsonSchema validator removed`;
      return `${c}: $jsonSchema validator ${change.from ? 'updated' : 'added'} (validationAction ${change.to.validator?.validationAction})`;
  }
}

export function describeField(field: FieldState): string {
  const parts = [field.type];
  if (field.required) parts.push('required');
  if (field.default && 'value' in field.default) {
    parts.push(`default ${JSON.stringify(field.default.value)}`);
  }
  if (field.default && 'computed' in field.default) parts.push('computed default');
  if (field.enum) parts.push(`enum ${JSON.stringify(field.enum)}`);
  return parts.join(', ');
}
