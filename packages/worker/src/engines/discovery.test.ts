import type { Logger } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import {
  assembleTables,
  compareCodePoints,
  MAX_DISCOVERED_TABLES,
  selectTables,
  sortedDistinct,
} from './discovery.js';

describe('compareCodePoints', () => {
  it('orders by code point, not by locale: upper case before lower case, digits first', () => {
    expect(['beta', 'Zeta', 'alpha', '_x', '9lives', 'Alpha'].sort(compareCodePoints)).toEqual([
      '9lives',
      'Alpha',
      'Zeta',
      '_x',
      'alpha',
      'beta',
    ]);
  });

  it('puts a prefix before its extensions', () => {
    expect(['orders_2024', 'orders', 'order'].sort(compareCodePoints)).toEqual([
      'order',
      'orders',
      'orders_2024',
    ]);
  });

  it('puts characters above U+FFFF after U+E000–U+FFFF, as code points (and UTF-8 bytes) do', () => {
    const astral = 't\u{1F600}'; // stored as a surrogate pair, 0xD83D 0xDE00
    const privateUse = 't\uE000';
    const replacement = 't\uFFFD';
    // JavaScript's default sort compares UTF-16 units and gets this wrong.
    expect([replacement, astral, privateUse].sort()).toEqual([astral, privateUse, replacement]);
    expect([replacement, astral, privateUse].sort(compareCodePoints)).toEqual([
      privateUse,
      replacement,
      astral,
    ]);
    const byUtf8 = [replacement, astral, privateUse].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    expect([replacement, astral, privateUse].sort(compareCodePoints)).toEqual(byUtf8);
  });

  it('orders two characters above U+FFFF by code point', () => {
    expect(['\u{1F601}', '\u{10000}', '\u{1F600}'].sort(compareCodePoints)).toEqual([
      '\u{10000}',
      '\u{1F600}',
      '\u{1F601}',
    ]);
  });

  it('is 0 only for equal strings', () => {
    expect(compareCodePoints('same', 'same')).toBe(0);
    expect(compareCodePoints('a', 'b')).toBeLessThan(0);
    expect(compareCodePoints('b', 'a')).toBeGreaterThan(0);
  });
});

describe('sortedDistinct', () => {
  it('drops duplicates and sorts', () => {
    expect(sortedDistinct(['b', 'a', 'b', 'A'])).toEqual(['A', 'a', 'b']);
  });
});

describe('selectTables', () => {
  const logged: { fields: unknown; message: unknown }[] = [];
  const log = {
    warn: (fields: unknown, message: unknown) => logged.push({ fields, message }),
  } as unknown as Logger;

  it('keeps every table of a schema within the cap, sorted and distinct, without logging', () => {
    logged.length = 0;
    expect(selectTables(['orders', 'Customers', 'orders'], log)).toEqual(['Customers', 'orders']);
    expect(logged).toEqual([]);
  });

  it('keeps the first MAX_DISCOVERED_TABLES in name order, and logs the cut', () => {
    logged.length = 0;
    const names = Array.from(
      { length: MAX_DISCOVERED_TABLES + 5 },
      (_, i) => `t${String(i).padStart(5, '0')}`,
    );
    const kept = selectTables([...names].reverse(), log);
    expect(kept).toHaveLength(MAX_DISCOVERED_TABLES);
    expect(kept[0]).toBe('t00000');
    expect(kept.at(-1)).toBe(`t${String(MAX_DISCOVERED_TABLES - 1).padStart(5, '0')}`);
    expect(logged).toEqual([
      {
        fields: { tables: MAX_DISCOVERED_TABLES + 5, kept: MAX_DISCOVERED_TABLES },
        message: expect.any(String),
      },
    ]);
  });
});

describe('assembleTables', () => {
  it('gives each kept table its distinct fields in code-point order, in the order of the tables', () => {
    const tables = assembleTables(
      ['Zeta', 'alpha', 'empty'],
      [
        { table: 'alpha', field: 'name' },
        { table: 'Zeta', field: 'id' },
        { table: 'alpha', field: 'ID' },
        { table: 'alpha', field: 'name' },
        { table: 'not-kept', field: 'x' },
      ],
    );
    expect(tables).toEqual([
      { name: 'Zeta', fields: ['id'] },
      { name: 'alpha', fields: ['ID', 'name'] },
      { name: 'empty', fields: [] },
    ]);
  });
});
