/**
 * Decides from a query's shape and a collection's index list whether an index serves the query:
 * the index bounds the scan (no collection scan) and, when the query sorts, yields the order (no
 * in-memory sort). Used where explain() cannot say (FerretDB's explain names no index stages),
 * and everywhere as a check that does not depend on the planner's mood.
 *
 * The rule (MongoDB's equality-sort-range): the index starts with fields the filter pins to one
 * value or a list of values ($in: MongoDB merges those scans in order), then holds the sort keys
 * in order, all in the index's directions or all reversed (a query pinning fields must use at
 * least one of them that way). Without a sort, the index's first field must be constrained. Each branch of a top-level $or must be served on its own, unless the
 * conditions beside the $or already are.
 */

type Constraint = 'point' | 'multi' | 'range' | 'other';
export type Doc = Record<string, unknown>;
export type IndexKey = [field: string, direction: number][];

interface Shape {
  fields: Map<string, Constraint>;
  ors: Doc[][];
}

function isOperatorObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object') return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function classify(value: unknown): Constraint {
  if (!isOperatorObject(value)) return 'point';
  const ops = Object.keys(value);
  if (ops.includes('$eq')) return 'point';
  if (ops.includes('$in')) return (value.$in as unknown[]).length === 1 ? 'point' : 'multi';
  if (ops.some((op) => ['$lt', '$lte', '$gt', '$gte'].includes(op))) return 'range';
  return 'other';
}

const STRENGTH: Constraint[] = ['point', 'multi', 'range', 'other'];
const stronger = (a: Constraint | undefined, b: Constraint): Constraint =>
  a === undefined || STRENGTH.indexOf(b) < STRENGTH.indexOf(a) ? b : a;

function shapeOf(filter: Doc, into: Shape = { fields: new Map(), ors: [] }): Shape {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and') for (const part of value as Doc[]) shapeOf(part, into);
    else if (key === '$or') into.ors.push(value as Doc[]);
    else if (!key.startsWith('$'))
      into.fields.set(key, stronger(into.fields.get(key), classify(value)));
  }
  return into;
}

function indexServes(index: IndexKey, fields: Map<string, Constraint>, sort: IndexKey): boolean {
  const order = sort.filter(([field]) => fields.get(field) !== 'point');
  let i = 0;
  while (i < index.length) {
    const c = fields.get(index[i]?.[0] as string);
    if (c !== 'point' && c !== 'multi') break;
    // A pinned field may also be a sort key: it is constant, so it sorts nothing.
    i += 1;
  }
  // Scanning a sort index while filtering pinned fields it lacks reads it all for a rare value.
  const pinned = [...fields.values()].some((c) => c === 'point' || c === 'multi');
  if (order.length > 0 && pinned && i === 0) return false;
  if (order.length === 0) {
    const first = fields.get(index[0]?.[0] as string);
    return first !== undefined && first !== 'other';
  }
  const rest = index.slice(i, i + order.length);
  if (rest.length < order.length) return false;
  const sameDirection = order.every(([f, d], k) => rest[k]?.[0] === f && rest[k]?.[1] === d);
  const reversed = order.every(([f, d], k) => rest[k]?.[0] === f && rest[k]?.[1] === -d);
  return sameDirection || reversed;
}

/** The name of an index serving the query, or undefined when none does. */
export function servingIndex(
  indexes: { name: string; key: IndexKey }[],
  filter: Doc,
  sort: IndexKey = [],
): string | undefined {
  const shape = shapeOf(filter);
  const direct = indexes.find((ix) => indexServes(ix.key, shape.fields, sort));
  if (direct || shape.ors.length === 0) return direct?.name;
  if (sort.length > 0) return undefined;
  // Every branch of every $or, with the conditions beside it, needs an index of its own.
  const names: string[] = [];
  for (const branches of shape.ors) {
    for (const branch of branches) {
      const merged = shapeOf(branch, { fields: new Map(shape.fields), ors: [] });
      const found = indexes.find((ix) => indexServes(ix.key, merged.fields, []));
      if (!found) return undefined;
      names.push(found.name);
    }
  }
  return [...new Set(names)].join(' + ');
}

/** An index's key document as ordered [field, direction] pairs. */
export function indexKey(key: Doc): IndexKey {
  return Object.entries(key).map(([field, direction]) => [field, Number(direction)]);
}
