import type { CollectionState, FieldState } from './model-state.ts';

/**
 * The collection's $jsonSchema validator: the document store's counterpart of column types and
 * NOT NULL. It only states what Mongoose itself enforces (types, required, enum), never
 * additionalProperties: documents written by an older version of the code must stay valid.
 */
export interface JsonSchemaNode {
  bsonType?: string | string[];
  required?: string[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  enum?: unknown[];
}

const BSON_TYPES: Record<string, string | string[]> = {
  String: 'string',
  Number: ['double', 'int', 'long', 'decimal'],
  Date: 'date',
  ObjectId: 'objectId',
  Boolean: 'bool',
  Embedded: 'object',
  Map: 'object',
  Buffer: 'binData',
  UUID: 'binData',
  Decimal128: 'decimal',
  BigInt: 'long',
  Double: 'double',
  Int32: 'int',
};

export function jsonSchemaFor(state: CollectionState): { $jsonSchema: JsonSchemaNode } {
  const root: JsonSchemaNode = { bsonType: 'object' };
  for (const [path, field] of Object.entries(state.fields)) {
    const { parent, name } = nodeFor(root, path);
    const properties = parent.properties ?? {};
    properties[name] = { ...properties[name], ...fieldSchema(field) };
    parent.properties = properties;
    if (field.required) parent.required = [...(parent.required ?? []), name];
  }
  return { $jsonSchema: root };
}

/** Walks `profile.aboutMe` / `items[].name` down to the object that holds the last segment. */
function nodeFor(root: JsonSchemaNode, path: string): { parent: JsonSchemaNode; name: string } {
  const segments = path.split('.');
  const name = segments.pop() as string;
  let parent = root;
  for (const segment of segments) {
    const isArray = segment.endsWith('[]');
    const key = isArray ? segment.slice(0, -2) : segment;
    const properties = parent.properties ?? {};
    parent.properties = properties;
    // A plain nested object (`{ nested: { deep: String } }`) has no field of its own.
    const child = properties[key] ?? { bsonType: ['object', 'null'] };
    properties[key] = child;
    if (isArray) {
      child.items = child.items ?? { bsonType: 'object' };
      parent = child.items;
    } else parent = child;
  }
  return { parent, name };
}

function fieldSchema(field: FieldState): JsonSchemaNode {
  const node: JsonSchemaNode = {};
  const array = /^Array<(.+)>$/.exec(field.type);
  const base = array ? 'array' : BSON_TYPES[field.type];
  // Mongoose stores null for a field set to null unless it is required.
  if (base) node.bsonType = field.required ? base : [...[base].flat(), 'null'];
  if (array?.[1] && BSON_TYPES[array[1]]) node.items = { bsonType: BSON_TYPES[array[1]] };
  if (field.enum) node.enum = field.required ? field.enum : [...field.enum, null];
  return node;
}
