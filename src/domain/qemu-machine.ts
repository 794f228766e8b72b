/**
 * A domain's running QEMU as the domain layer sees it: the QMP connection, and QEMU's events
 * turned into Xen's shutdown reasons.
 *
 * Lifecycle contract with QEMU (the argv builder's `lifecycle`): QEMU never exits or resets by
 * itself; QMP `SHUTDOWN` reason `guest-shutdown` is a poweroff, `guest-reset` (or our own
 * `system_reset`) a reboot, `GUEST_PANICKED` a crash, `WATCHDOG` a watchdog; the QMP socket
 * closing while the domain is not being destroyed is a crash (QEMU died). Each machine reports
 * at most one stop, and only through the sink, which queues the on_* action: nothing is done in
 * the event handler itself.
 */
import type { QmpClient, QmpEvent } from '../qemu/index.js';
import type { ShutdownReason } from './state.js';

/** QMP `SHUTDOWN` reasons (QAPI ShutdownCause) that are the guest's own stop, as Xen's reasons. */
const SHUTDOWN_CAUSES: Readonly<Record<string, ShutdownReason>> = {
  'guest-shutdown': 'poweroff',
  'guest-reset': 'reboot',
  'host-qmp-system-reset': 'reboot',
  'guest-panic': 'crash',
};

/**
 * `SHUTDOWN` reasons of a QEMU that exits next: sent SIGTERM, SIGINT or SIGHUP (`host-signal`: an
 * admin's kill, a host shutting down that signals every process), a window of its own closed
 * (`host-ui`). The host shut the domain down: a poweroff once QEMU is gone (its socket closing
 * would otherwise read as a crash, and on_crash=restart bring back what the host takes down).
 */
const HOST_STOPS: ReadonlySet<string> = new Set(['host-signal', 'host-ui']);

export class Machine {
  /** Being destroyed: its QMP socket closing is expected. */
  ending = false;
  /** The guest's memory as its balloon driver last reported it (`BALLOON_CHANGE`), bytes. */
  balloonBytes: number | undefined;
  #reported = false;
  /** QEMU said it exits at the host's word (`HOST_STOPS`). */
  #hostStop = false;

  constructor(
    readonly pid: number,
    readonly qmp: QmpClient,
    readonly report: (reason: ShutdownReason) => void,
  ) {
    qmp.onEvent('SHUTDOWN', (e: QmpEvent) => {
      const cause = String(e.data?.['reason']);
      if (HOST_STOPS.has(cause)) this.#hostStop = true;
      const reason = SHUTDOWN_CAUSES[cause];
      if (reason !== undefined) this.stopped(reason);
    });
    qmp.onEvent('BALLOON_CHANGE', (e: QmpEvent) => {
      const actual = e.data?.['actual'];
      if (typeof actual === 'number') this.balloonBytes = actual;
    });
    qmp.onEvent('GUEST_PANICKED', () => this.stopped('crash'));
    qmp.onEvent('WATCHDOG', () => this.stopped('watchdog'));
    qmp.onClose(() => this.stopped(this.#hostStop ? 'poweroff' : 'crash'));
  }

  /**
   * The guest stopped for `reason`: reported once, unless the machine is being destroyed. A
   * machine re-adopted in a stopped state reports what `query-status` tells (the SHUTDOWN reason
   * is then lost: `shutdown` reads as a poweroff, `guest-panicked` as a crash).
   */
  stopped(reason: ShutdownReason): void {
    if (this.ending || this.#reported) return;
    this.#reported = true;
    this.report(reason);
  }
}
