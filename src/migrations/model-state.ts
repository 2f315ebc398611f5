import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CreateIndexesOptions, Db, Document, IndexSpecification } from 'mongodb';
import mongoose, { type Model, type Schema, type SchemaType } from 'mongoose';
import { registerModels } from '../models.ts';
import { ScriptError } from '../process/script-error.ts';
import { MIGRATIONS_DIR, projectRoot } from './runner.ts';

/**
 * What the models looked like when the last migration was written: the "structure" that a
 * document store cannot read back from the database. `generate` diffs the models against it, and
 * `check` fails when they differ.
 */
export interface ModelState {
  version: 1;
  /**
   * The migration that brought the data to this state (written by `generate`, or by `snapshot`
   * after a hand-written one). `check` fails when that file is gone.
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

/** Beside the migrations (a `.json`, so never taken for a migration). */
export const modelStatePath = (dir = MIGRATIONS_DIR) => join(dir, 'model-state.json');

/** The app's models on a connection that never connects: only their schemas are read. */
export function appModels(): Model<unknown>[] {
  return Object.values(registerModels(mongoose.createConnection())) as unknown as Model<unknown>[];
}

/** The recorded state, or an empty one when nothing was recorded yet (a new project). */
export function readModelState(dir = MIGRATIONS_DIR): ModelState {
  let text: string;
  try {
    text = readFileSync(modelStatePath(dir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, collections: {} };
    throw error;
  }
  const state = JSON.parse(text) as ModelState;
  if (state.version !== 1 || typeof state.collections !== 'object') {
    throw new Error(`${modelStatePath(dir)} is not a model state this code can read`);
  }
  return state;
}

export function writeModelState(state: ModelState, dir = MIGRATIONS_DIR): void {
  const path = modelStatePath(dir);
  writeFileSync(
    path,
    formatLikeTheRepository(`${JSON.stringify(sortedState(state), null, 2)}\n`, path),
  );
}

/**
 * Formats generated text the way `biome check` wants it, so that a generated migration and the
 * model state pass the linter unedited. Without biome (no dev dependencies) it stays as it is.
 */
export function formatLikeTheRepository(text: string, file: string): string {
  const biome = join(projectRoot, 'node_modules/.bin/biome');
  if (!existsSync(biome)) return text;
  const result = spawnSync(biome, ['format', `--stdin-file-path=${relative(projectRoot, file)}`], {
    cwd: projectRoot,
    input: text,
    encoding: 'utf8',
  });
  return result.status === 0 && result.stdout ? result.stdout : text;
}

/** Keys in a stable order, so that the file diffs cleanly in review. */
function sortedState(state: ModelState): ModelState {
  const collections: Record<string, CollectionState> = {};
  for (const name of Object.keys(state.collections).sort()) {
    const c = state.collections[name] as CollectionState;
    const fields = Object.fromEntries(
      Object.entries(c.fields).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    const indexes = [...c.indexes].sort((a, b) => a.name.localeCompare(b.name));
    collections[name] = { ...c, fields, indexes };
  }
  const { recordedBy } = state;
  return recordedBy ? { version: 1, recordedBy, collections } : { version: 1, collections };
}

/** The state the given models declare. */
export function extractModelState(models: Model<unknown>[]): ModelState {
  const state: ModelState = { version: 1, collections: {} };
  for (const model of models) {
    const collection = model.collection.collectionName;
    const taken = state.collections[collection];
    if (taken) throw new Error(`models ${taken.model} and ${model.modelName} share ${collection}`);
    state.collections[collection] = {
      model: model.modelName,
      fields: extractFields(model.schema),
      indexes: extractIndexes(model.schema),
    };
  }
  return sortedState(state);
}

type AnySchemaType = SchemaType & {
  schema?: Schema;
  embeddedSchemaType?: SchemaType;
  $isMongooseDocumentArray?: boolean;
  defaultValue?: unknown;
};

function extractFields(schema: Schema, prefix = ''): Record<string, FieldState> {
  const fields: Record<string, FieldState> = {};
  const versionKey = schema.get('versionKey');
  schema.eachPath((path, schemaType: AnySchemaType) => {
    // _id and the version key are Mongoose's own; Map values (`m.$*`) have no fixed path.
    if (path === '_id' || path === versionKey || path.includes('$*')) return;
    const full = `${prefix}${path}`;
    fields[full] = fieldState(schemaType);
    if (!schemaType.schema) return;
    const inner = schemaType.$isMongooseDocumentArray ? `${full}[].` : `${full}.`;
    Object.assign(fields, extractFields(schemaType.schema, inner));
  });
  return fields;
}

function fieldState(st: AnySchemaType): FieldState {
  let type = st.instance;
  if (type === 'Array') {
    const item = st.$isMongooseDocumentArray
      ? 'Embedded'
      : (st.embeddedSchemaType?.instance ?? 'Mixed');
    type = `Array<${item}>`;
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
  if (typeof value !== 'function') return isPlainJson(value) ? { value } : { computed: true };
  let first: unknown;
  let second: unknown;
  try {
    first = value.call(undefined);
    second = value.call(undefined);
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
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
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
    const o = options as Record<string, unknown> & Partial<IndexState>;
    const defaultName = Object.entries(key).map(([field, way]) => `${field}_${String(way)}`);
    const index: IndexState = {
      name: o.name ?? defaultName.join('_'),
      key: key as IndexState['key'],
    };
    if (o.unique) index.unique = true;
    if (o.sparse) index.sparse = true;
    if (o.partialFilterExpression) index.partialFilterExpression = o.partialFilterExpression;
    const ttl = o.expireAfterSeconds ?? o.expires;
    if (typeof ttl === 'number') index.expireAfterSeconds = ttl;
    if (o.collation) index.collation = o.collation;
    return index;
  });
}

export function describeIndex(index: IndexState): string {
  const options = [
    index.unique && 'unique',
    index.sparse && 'sparse',
    index.partialFilterExpression && `partial ${JSON.stringify(index.partialFilterExpression)}`,
    index.expireAfterSeconds !== undefined && `ttl ${index.expireAfterSeconds}s`,
    index.collation && `collation ${JSON.stringify(index.collation)}`,
  ].filter(Boolean);
  return `${index.name} ${JSON.stringify(index.key)}${options.length ? ` ${options.join(' ')}` : ''}`;
}

export interface IndexProblem {
  collection: string;
  index: IndexState;
  kind: 'missing' | 'different';
  /** One line for an operator: what is declared and what the database has. */
  line: string;
}

/** The collection's indexes, or undefined when it does not exist. */
async function liveIndexes(db: Db, collection: string): Promise<Document[] | undefined> {
  try {
    return await db.collection(collection).listIndexes().toArray();
  } catch (error) {
    if ((error as { code?: number }).code === 26) return undefined; // NamespaceNotFound
    throw error;
  }
}

const shape = (live: Document) => `${JSON.stringify(live.key)}${live.unique ? ' unique' : ''}`;

/** The declared indexes the database lacks (`missing` ends the line) or has in another shape. */
function indexProblems(
  collection: string,
  declared: IndexState[],
  live: Document[],
  missing: string,
) {
  return declared.flatMap((index): IndexProblem[] => {
    const found = live.find((i) => i.name === index.name);
    const sameShape =
      JSON.stringify(found?.key) === JSON.stringify(index.key) &&
      Boolean(found?.unique) === Boolean(index.unique);
    if (found && sameShape) return [];
    const line = found
      ? `${collection}: index ${index.name} is ${shape(found)} in the database, ${describeIndex(index)} in the models`
      : `${collection}: index ${describeIndex(index)} ${missing}`;
    return [{ collection, index, kind: found ? 'different' : 'missing', line }];
  });
}

/**
 * The indexes the models declare that the database lacks or has in another shape (other keys or
 * uniqueness), unique ones first: a missing unique index lets duplicates in.
 */
export async function compareDeclaredIndexes(db: Db, state: ModelState): Promise<IndexProblem[]> {
  const problems: IndexProblem[] = [];
  for (const [collection, { indexes }] of Object.entries(state.collections)) {
    const live = (await liveIndexes(db, collection)) ?? [];
    problems.push(...indexProblems(collection, indexes, live, 'is missing'));
  }
  return problems.sort((a, b) => Number(Boolean(b.index.unique)) - Number(Boolean(a.index.unique)));
}

/**
 * The indexes on one side only, the models' or the database's (what `generate` reports). Not an
 * error: pending migrations, or this one, may be what closes it.
 */
export async function liveIndexReport(db: Db, state: ModelState): Promise<string[]> {
  const lines: string[] = [];
  for (const [collection, { indexes }] of Object.entries(state.collections)) {
    const live = await liveIndexes(db, collection);
    if (!live) lines.push(`${collection}: no such collection in the database`);
    if (!live) continue;
    const problems = indexProblems(collection, indexes, live, 'only in the models');
    lines.push(...problems.map((p) => p.line));
    for (const index of live.filter((i) => !indexes.some((d) => d.name === i.name))) {
      if (index.name !== '_id_')
        lines.push(
          `${collection}: index ${String(index.name)} ${shape(index)} only in the database`,
        );
    }
  }
  return lines;
}

/**
 * Builds the declared indexes the database lacks (after a restore without indexes). An index of
 * the same name in another shape is left alone and returned: changing it is a migration's job.
 */
export async function buildDeclaredIndexes(db: Db, state: ModelState, log: (line: string) => void) {
  const problems = await compareDeclaredIndexes(db, state);
  const missing = problems.filter((p) => p.kind === 'missing');
  for (const problem of missing) await assertDataHasKey(db, problem);
  for (const { collection, index } of missing) {
    const { name, key, ...options } = index;
    log(`building ${collection}: ${describeIndex(index)}`);
    // Sequential, unique ones first: a duplicate in the data fails here with the server's
    // message naming the key, before the others take time.
    await db
      .collection(collection)
      .createIndex(key as IndexSpecification, { name, ...options } as CreateIndexesOptions);
  }
  return problems.filter((p) => p.kind === 'different');
}

/**
 * A unique index (not partial, not sparse) needs its fields in every document: one that lacks
 * them is indexed as null and can no longer be found by the field (a user by usernameKey).
 */
async function assertDataHasKey(db: Db, { collection, index }: IndexProblem): Promise<void> {
  if (!index.unique || index.sparse || index.partialFilterExpression) return;
  const fields = Object.keys(index.key);
  const lacking = await db
    .collection(collection)
    .countDocuments({ $or: fields.map((field) => ({ [field]: { $exists: false } })) });
  if (lacking === 0) return;
  throw new ScriptError(
    'data-behind-schema',
    `${collection}: ${lacking} documents lack ${fields.join(', ')}, which the unique index ${index.name} needs: the data is behind the schema (stamped past the migration that fills it?); run that migration (down, then up) rather than stamp; nothing was built`,
  );
}
