/** A WHERE clause built with numbered parameters. */
export class Conditions {
  private readonly parts: string[];
  constructor(
    readonly params: unknown[],
    first: string,
  ) {
    this.parts = first ? [first] : [];
  }
  /** Adds `clause(placeholder)`; without a value the clause takes no parameter. */
  add(clause: (placeholder: string) => string, ...value: [unknown?]) {
    if (value.length > 0) this.params.push(value[0]);
    this.parts.push(clause(`$${this.params.length}`));
  }
  get sql() {
    return this.parts.join(' AND ');
  }
}

/** Scopes a query to one product, or with `null` to connections that have none. */
export function whereProduct(where: Conditions, productName: string | null | undefined): void {
  if (productName === null) where.add(() => 'product_name IS NULL');
  else if (productName !== undefined) where.add((p) => `product_name = ${p}`, productName);
}
