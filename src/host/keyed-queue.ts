/**
 * Runs async operations one at a time per key, in the order they were queued; operations on
 * different keys run concurrently. A failed operation does not block the ones queued after it.
 */
export class KeyedQueue<K> {
  readonly #tails = new Map<K, Promise<unknown>>();

  /** Runs `op` after every operation queued before it on `key`; resolves with its result. */
  run<T>(key: K, op: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(op, op);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Resolves when every operation queued so far (and any they queue) has finished. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }
}
