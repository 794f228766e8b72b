import type { DeviceKind } from './devices.js';
import type { DomainRecord } from './record.js';
import type { DomainState } from './state.js';

/** Lifecycle events, emitted by the registry (devices: by the manager) after the change is persisted. */
export type DomainEvent =
  | { readonly type: 'created'; readonly record: DomainRecord }
  | { readonly type: 'adopted'; readonly record: DomainRecord }
  | { readonly type: 'state'; readonly record: DomainRecord; readonly from: DomainState; readonly to: DomainState }
  | { readonly type: 'renamed'; readonly record: DomainRecord; readonly from: string }
  | { readonly type: 'destroyed'; readonly record: DomainRecord }
  /** A device joined or left the running domain (`record` has it, or no longer has it). */
  | { readonly type: 'device'; readonly record: DomainRecord; readonly action: 'attached' | 'detached'; readonly kind: DeviceKind; readonly devid: number | undefined }
  /**
   * A live migration's progress here: the state streaming out (`out`: started, then completed
   * with QEMU's figures or failed with its reason, the guest running on), or a domain whose state
   * came in (`in`: completed once the stream was read, before the receiver's go).
   */
  | { readonly type: 'migration'; readonly record: DomainRecord; readonly direction: 'in' | 'out'; readonly phase: MigrationPhase; readonly detail: Readonly<Record<string, unknown>> };

export type MigrationPhase = 'started' | 'completed' | 'failed';

export type DomainEventListener = (event: DomainEvent) => void;

/**
 * A synchronous fan-out of domain events. Listeners must not block and must not throw: they only
 * queue work (a throwing listener is reported through `onListenerError`, never to the emitter).
 */
export class DomainEvents {
  readonly #listeners = new Set<DomainEventListener>();
  readonly #onListenerError: (e: unknown) => void;

  constructor(onListenerError: (e: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError;
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: DomainEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: DomainEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (e: unknown) {
        this.#onListenerError(e);
      }
    }
  }
}
