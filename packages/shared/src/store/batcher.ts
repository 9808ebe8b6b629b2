/** What one item of a batch came to: its value, or the error that item alone gets. */
export type Outcome<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** Batches running at once. While all are running, new items wait and go together in the next. */
  maxInFlight: number;
  /** Items in one batch at most. */
  maxBatch: number;
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Natural batching (as a database's group commit): an item submitted while fewer than `maxInFlight`
 * batches run goes at once, alone; items submitted while all run wait, and go together as one batch
 * when one finishes. A lone caller never waits for a timer, and the busier the store, the larger the
 * batches: one statement's fixed cost (its round trip, execution and commit) is shared by every item in
 * it (bench/README.md, "Fifth pass").
 *
 * `run` answers an outcome per item, in order; if it throws, every item of the batch gets that error.
 */
export class Batcher<Item, Result> {
  private readonly waiting: Waiting<Item, Result>[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: (items: Item[]) => Promise<Outcome<Result>[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.inFlight < this.options.maxInFlight) this.next();
    });
  }

  private next(): void {
    const batch = this.waiting.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    this.inFlight += 1;
    // settle() never rejects: each item's error reaches its own caller.
    void this.settle(batch).then(() => {
      this.inFlight -= 1;
      this.next();
    });
  }

  private async settle(batch: Waiting<Item, Result>[]): Promise<void> {
    try {
      const outcomes = await this.run(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined) waiting.reject(new Error('batch answered fewer outcomes than items'));
        else if (outcome.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
