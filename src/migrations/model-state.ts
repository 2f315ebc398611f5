import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model, Schema, SchemaType } from 'mongoose';
import { formatLikeTheRepository } from './format.ts';
import { MIGRATIONS_DIR } from './settings.ts';

/**
 * What the models looked like when the last migration was written: the "structure" that a
 * document store cannot read back from the database. `generate` diffs the models against it, and
 * `check` fails when they differ.
 */
export interface ModelState {
  version: 1;
  /**
   * The migration that brought the data to this state (written by `generate`, or by `snapshot`
   * after a hand-written one). `check` fails when that file is gone: the state would then be
   * recorded by no migration, and nothing would build it.
   */
  recordedBy?: string;
  /** Keyed by collection name: a migration changes collections, whatever the model is called. */
  collections: Record<string, CollectionState>;
}

export interface CollectionState {
  model: string;
  /** Dotted paths (`profile.aboutMe`; `items[].name` inside arrays of subdocuments). */
  fields: Record<string, FieldState>;
  indexes: IndexState[];
  /** Set once a generated migration installed a $jsonSchema validator on the collection. */
  validator?: { validationAction: ValidationAction };
}

export type ValidationAction = 'error' | 'warn';

export interface FieldState {
  /** Mongoose's type name: String, Number, Date, ObjectId, Embedded, Array<String>, ... */
  type: string;
  required?: true;
  /** A constant default as JSON, or `computed` for one that differs per call (`() => new Date()`). */
  default?: { value: unknown } | { computed: true };
  enum?: unknown[];
}

export interface IndexState {
  name: string;
  key: Record<string, number | string>;
  unique?: true;
  sparse?: true;
  partialFilterExpression?: Record<string, unknown>;
  expireAfterSeconds?: number;
  collation?: Record<string, unknown>;
}

/** Beside the migrations; migrate-mongo lists only `.js` files there, so it is never run. */
export const MODEL_STATE_FILE = 'model-state.json';

export function modelStatePath(migrationsDir = MIGRATIONS_DIR): string {
  return join(migrationsDir, MODEL_STATE_FILE);
}

export function emptyModelState(): ModelState {
  return { version: 1, collections: {} };
}

/** The recorded state, or an empty one when nothing was recorded yet (a new project). */
export function readModelState(migrationsDir = MIGRATIONS_DIR): ModelState {
  let text: string;
  try {
    text = readFileSync(modelStatePath(migrationsDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyModelState();
    throw error;
  }
  const state = JSON.parse(text) as ModelState;
  if (state.version !== 1 || typeof state.collections !== 'object') {
    throw new Error(`${modelStatePath(migrationsDir)} is not a model state this code can read`);
  }
  return state;
}

export function writeModelState(state: ModelState, migrationsDir = MIGRATIONS_DIR): void {
  const path = modelStatePath(migrationsDir);
  const text = `${JSON.stringify(sortedState(state), null, 2)}\n`;
  writeFileSync(path, formatLikeTheRepository(text, path));
}

/** Keys in a stable order, so that the file diffs cleanly in review. */
function sortedState(state: ModelState): ModelState {
  const collections: Record<string, CollectionState> = {};
  for (const name of Object.keys(state.collections).sort()) {
    const c = state.collections[name] as CollectionState;
    const fields: Record<string, FieldState> = {};
    for (const path of Object.keys(c.fields).sort()) fields[path] = c.fields[path] as FieldState;
    const indexes = [...c.indexes].sort((a, b) => a.name.localeCompare(b.name));
    collections[name] = { ...c, fields, indexes };
  }
  return state.recordedBy
    ? { version: 1, recordedBy: state.recordedBy, collections }
    : { version: 1, collections };
}

/** The state the given models declare. */
export function extractModelState(models: Model<unknown>[]): ModelState {
  const state = emptyModelState();
  for (const model of models) {
    const collection = model.collection.collectionName;
    if (state.collections[collection]) {
      throw new Error(
        `models ${state.collections[collection].model} and ${model.modelName} share ${collection}`,
      );
    }
    state.collections[collection] = {
      model: model.modelName,
      fields: extractFields(model.schema),
      indexes: extractIndexes(model.schema),
    };
  }
  return sortedState(state);
}

function extractFields(schema: Schema, prefix = ''): Record<string, FieldState> {
  const fields: Record<string, FieldState> = {};
  const versionKey = schema.get('versionKey');
  schema.eachPath((path, schemaType) => {
    // _id and the version key are Mongoose's own; Map values (`m.$*`) have no fixed path.
    if (path === '_id' || path === versionKey || path.includes('$*')) return;
    const full = `${prefix}${path}`;
    fields[full] = fieldState(schemaType);
    const sub = (schemaType as SchemaType & { schema?: Schema }).schema;
    if (!sub) return;
    const isArray = (schemaType as { $isMongooseDocumentArray?: boolean }).$isMongooseDocumentArray;
    Object.assign(fields, extractFields(sub, isArray ? `${full}[].` : `${full}.`));
  });
  return fields;
}

function fieldState(schemaType: SchemaType): FieldState {
  const st = schemaType as SchemaType & {
    embeddedSchemaType?: SchemaType;
    $isMongooseDocumentArray?: boolean;
    defaultValue?: unknown;
  };
  let type = st.instance;
  if (type === 'Array') {
    type = st.$isMongooseDocumentArray
      ? 'Array<Embedded>'
      : `Array<${st.embeddedSchemaType?.instance ?? 'Mixed'}>`;
  }
  const field: FieldState = { type };
  if (st.isRequired === true && typeof st.options.required !== 'function') field.required = true;
  const fallback = defaultOf(st.defaultValue);
  if (fallback) field.default = fallback;
  const values = enumValues(st.options.enum);
  if (values) field.enum = values;
  return field;
}

/**
 * A function default is called twice: the same JSON both times makes it a constant (`() => ({})`,
 * Mongoose's `[]` for arrays); otherwise (`() => new Date()`) it is recorded as computed.
 */
function defaultOf(value: unknown): FieldState['default'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    return isPlainJson(value) ? { value } : { computed: true };
  }
  const call = value as () => unknown;
  let first: unknown;
  let second: unknown;
  try {
    first = call.call(undefined);
    second = call.call(undefined);
  } catch {
    return { computed: true };
  }
  if (first === undefined) return undefined;
  if (!isPlainJson(first) || JSON.stringify(first) !== JSON.stringify(second)) {
    return { computed: true };
  }
  return { value: first };
}

function isPlainJson(value: unknown): boolean {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
    return typeof value !== 'number' || Number.isFinite(value);
  }
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value as object).every(isPlainJson);
  }
  return false;
}

function enumValues(option: unknown): unknown[] | undefined {
  let values: unknown[] | undefined;
  if (Array.isArray(option)) values = option;
  else if (option && typeof option === 'object') {
    const withValues = option as { values?: unknown };
    values = Array.isArray(withValues.values) ? withValues.values : Object.values(option);
  }
  return values && values.length > 0 ? values : undefined;
}

/** The indexes as createIndexes would get them, named as MongoDB names them by default. */
function extractIndexes(schema: Schema): IndexState[] {
  return schema.indexes().map(([key, options]) => {
    const o = options as Record<string, unknown>;
    const index: IndexState = {
      name: typeof o.name === 'string' ? o.name : defaultIndexName(key as Record<string, unknown>),
      key: key as IndexState['key'],
    };
    if (o.unique) index.unique = true;
    if (o.sparse) index.sparse = true;
    if (o.partialFilterExpression) {
      index.partialFilterExpression = o.partialFilterExpression as Record<string, unknown>;
    }
    const ttl = o.expireAfterSeconds ?? o.expires;
    if (typeof ttl === 'number') index.expireAfterSeconds = ttl;
    if (o.collation) index.collation = o.collation as Record<string, unknown>;
    return index;
  });
}

export function defaultIndexName(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join('_');
}
