import type { DiscoveredTable, Logger } from '@dbconn/shared';

/**
 * The most tables (or collections) one discovery returns: the first ones in name order. A schema
 * with more is cut and the cut is logged; the result does not say so (docs/contract.md §2 has no field for
 * it), and mapped fields can only name tables a person picks from a list, which 1000 already
 * overflows.
 */
export const MAX_DISCOVERED_TABLES = 1000;

/** What a discovery needs besides the verified connection. */
export interface DiscoveryOptions {
  /** MongoDB: documents sampled per collection for its field names (config `schema.sampleSize`). */
  sampleSize: number;
  /** Hears when a schema is cut to {@link MAX_DISCOVERED_TABLES}. */
  log?: Logger | undefined;
}

/**
 * Plain Unicode code-point order, the order of every discovered list. Not the database's collation
 * (which differs between engines and servers) and not JavaScript's default sort, which compares
 * UTF-16 code units and so puts characters above U+FFFF (stored as surrogates, 0xD800–0xDFFF)
 * before U+E000–U+FFFF. At the first differing unit, surrogates are moved above the rest of the
 * BMP; with that, unit order is code-point order (the same order as comparing the UTF-8 bytes).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

const codePointRank = (unit: number) =>
  unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit;

/** Distinct strings in code-point order. */
export function sortedDistinct(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareCodePoints);
}

/**
 * The tables a discovery keeps: distinct names in code-point order, at most
 * {@link MAX_DISCOVERED_TABLES} (the first ones). Engines pick the tables first and read fields only
 * for these, so a huge schema costs one list of names, not all of its columns.
 */
export function selectTables(names: Iterable<string>, log?: Logger): string[] {
  const sorted = sortedDistinct(names);
  if (sorted.length <= MAX_DISCOVERED_TABLES) return sorted;
  log?.warn(
    { tables: sorted.length, kept: MAX_DISCOVERED_TABLES },
    'schema discovery cut: the schema has more tables than one discovery returns',
  );
  return sorted.slice(0, MAX_DISCOVERED_TABLES);
}

/**
 * The result of a discovery: each kept table, in the given order, with its distinct fields in
 * code-point order. Fields of other tables are ignored; a table without fields (PostgreSQL allows
 * `CREATE TABLE t ()`) keeps an empty list.
 */
export function assembleTables(
  tables: readonly string[],
  fields: Iterable<{ table: string; field: string }>,
): DiscoveredTable[] {
  const byTable = new Map<string, string[]>(tables.map((name) => [name, []]));
  for (const { table, field } of fields) byTable.get(table)?.push(field);
  return tables.map((name) => ({ name, fields: sortedDistinct(byTable.get(name) ?? []) }));
}
