/**
 * Per-domain quotas with the C xenstored defaults and names (as used by `-Q what=nb`, CONTROL
 * `quota`, GET_QUOTA/SET_QUOTA). Privileged connections are exempt from all of them. A value of
 * 0 disables that check. Per-domain overrides (SET_QUOTA with a domid) take precedence.
 */

export const QUOTA_NAMES = [
  'nodes', 'watches', 'outstanding', 'memory', 'transactions', 'transaction-nodes',
  'node-permissions', 'path-max', 'node-size',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

export const QUOTA_DEFAULTS: Readonly<Record<QuotaName, number>> = {
  nodes: 1000,
  watches: 128,
  outstanding: 20,
  memory: 2560 * 1024,
  transactions: 10,
  'transaction-nodes': 1024,
  'node-permissions': 5,
  'path-max': 2048,
  'node-size': 2048,
};

/** Labels of CONTROL `quota` output, as Xen's xenstored words them. */
export const QUOTA_DESCRIPTIONS: Readonly<Record<QuotaName, string>> = {
  nodes: 'Nodes per domain',
  watches: 'Watches per domain',
  outstanding: 'Outstanding requests per domain',
  memory: 'Total Xenstore memory per domain',
  transactions: 'Active transactions per domain',
  'transaction-nodes': 'Max. number of accessed nodes per transaction',
  'node-permissions': 'Max. number of permissions per node',
  'path-max': 'Max. length of a node path',
  'node-size': 'Max. size of a node',
};

export function isQuotaName(s: string): s is QuotaName {
  return (QUOTA_NAMES as readonly string[]).includes(s);
}

/**
 * The names GET_QUOTA lists and GET_QUOTA/SET_QUOTA take, in C xenstored's order: every hard
 * quota, and `soft-memory` (the warning level of `memory`, the one quota with a soft value).
 */
export const QUOTA_WIRE_NAMES = [
  'nodes', 'watches', 'outstanding', 'memory', 'soft-memory', 'transactions', 'transaction-nodes',
  'node-permissions', 'path-max', 'node-size',
] as const;
export type QuotaWireName = (typeof QUOTA_WIRE_NAMES)[number];

export function isQuotaWireName(s: string): s is QuotaWireName {
  return (QUOTA_WIRE_NAMES as readonly string[]).includes(s);
}

/** Global quota values plus per-domain overrides. */
export class Quotas {
  readonly #global: Record<QuotaWireName, number>;
  readonly #perDomain = new Map<number, Partial<Record<QuotaWireName, number>>>();

  constructor(initial: Partial<Record<QuotaName, number>> = {}) {
    this.#global = { ...QUOTA_DEFAULTS, 'soft-memory': 2 * 1024 * 1024, ...initial };
  }

  /** The global soft `memory` quota (CONTROL `quota-soft`): a warning level only, never enforced. */
  get memorySoft(): number {
    return this.#global['soft-memory'];
  }

  set memorySoft(value: number) {
    this.#global['soft-memory'] = value;
  }

  /** The limit for `domid` (0 = unlimited). */
  get(name: QuotaWireName, domid?: number): number {
    const over = domid === undefined ? undefined : this.#perDomain.get(domid)?.[name];
    return over ?? this.#global[name];
  }

  set(name: QuotaWireName, value: number, domid?: number): void {
    if (domid === undefined) {
      this.#global[name] = value;
      return;
    }
    const cur = this.#perDomain.get(domid) ?? {};
    cur[name] = value;
    this.#perDomain.set(domid, cur);
  }

  /** Drops the overrides of a domain that went away. */
  forget(domid: number): void {
    this.#perDomain.delete(domid);
  }

  /** True if `value` is over the limit (`> limit`); a limit of 0 never trips. */
  exceeds(name: QuotaName, domid: number, value: number): boolean {
    const limit = this.get(name, domid);
    return limit > 0 && value > limit;
  }
}

/** Parses `what=nb` (the `-Q` option of xenstored); undefined if malformed. */
export function parseQuotaSetting(s: string): { name: QuotaName; value: number } | undefined {
  const m = /^([a-z-]+)=(\d+)$/.exec(s);
  if (!m || !isQuotaName(m[1]!)) return undefined;
  return { name: m[1], value: Number(m[2]) };
}
