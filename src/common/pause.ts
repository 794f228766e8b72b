/**
 * Pauses of a polling loop that something can end early (a QMP event, the end of the work being
 * followed): `pause(ms)` resolves after `ms`, or at the next `wake()`, whichever comes first. A
 * `wake()` with no pause under way does nothing.
 */
export class WakeablePause {
  #wake: (() => void) | undefined;

  pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#end(resolve), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#end(resolve);
      };
    });
  }

  wake(): void {
    this.#wake?.();
  }

  #end(resolve: () => void): void {
    this.#wake = undefined;
    resolve();
  }
}
