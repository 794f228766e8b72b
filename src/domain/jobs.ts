import { KeyedQueue } from '../host/index.js';

/**
 * One mutating job at a time per domain (design.md "Principles"). Jobs on one domain run in the
 * order they were queued; jobs on different domains run concurrently. A job that talks to QEMU
 * must re-check that QEMU is alive after each await: the queue orders jobs, it cannot stop a
 * process from dying.
 */
export class DomainJobQueue {
  readonly #queue = new KeyedQueue<number>();
  readonly #current = new Map<number, string>();

  /** Runs `job` once every job queued before it on `domid` has finished; resolves with its result. */
  run<T>(domid: number, label: string, job: () => Promise<T>): Promise<T> {
    return this.#queue.run(domid, async () => {
      this.#current.set(domid, label);
      try {
        return await job();
      } finally {
        this.#current.delete(domid);
      }
    });
  }

  /** The label of the job running on `domid`, if any. */
  current(domid: number): string | undefined {
    return this.#current.get(domid);
  }

  /** Resolves when every job queued so far has finished. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }
}
