/**
 * Settings of the store's own sessions, sent at connect. The planner is told that a page read at
 * random costs little more than one read in sequence (1.1, PostgreSQL's documented value for SSDs and
 * cached data; its default 4 is for spinning disks): a registry's tables fit in memory, and at 4 it
 * counts a filtered list by reading every row (23 ms for 100,000 rows) rather than the covering
 * index of migration 7 (15 ms; bench/README.md, P5). The bench's bare list sends the same (P5).
 */
export function storeSessionOptions(schemaName?: string): string {
  const options = ['-c random_page_cost=1.1'];
  if (schemaName) options.push(`-c search_path=${schemaName}`);
  return options.join(' ');
}
