/**
 * The dispatch table (C `wire_funcs[]`): one entry per wire type with its flags — `priv`
 * (privileged callers only, else EACCES), `noTx` (the header's tx_id is ignored) and `mutates`
 * (changes the live tree or the domains when not inside a transaction: such a request joins a
 * batch of changes not yet on disk, see server.ts) — and the function that turns a request into
 * a reply payload or throws an XsFault.
 */
import type { Connection } from './connection.js';
import type { CanonicalPath } from './paths.js';
import { canonicalize, domainPath } from './paths.js';
import { MAX_NODE_PERMS } from './frame.js';
import { formatPerms, parsePerm } from './perms.js';
import { isQuotaName, isQuotaWireName, QUOTA_DESCRIPTIONS, QUOTA_NAMES, QUOTA_WIRE_NAMES } from './quota.js';
import type { XenstoreServer } from './server.js';
import { Transaction } from './transaction.js';
import type { OpContext } from './tree.js';
import { directoryPart, getPerms, listChildren, makeDir, readValue, removeNode, setPerms, writeValue } from './tree.js';
import type { XsMessage } from './wire.js';
import { DOMID_FIRST_RESERVED, DOMID_SELF, encodeStrings, OK_PAYLOAD, oneArg, REL_PATH_MAX, splitStrings, XsFault, XsType } from './wire.js';

export interface RequestContext {
  readonly server: XenstoreServer;
  readonly conn: Connection;
  readonly msg: XsMessage;
  /** The transaction named by the header (undefined for none and for `noTx` operations). */
  readonly tx: Transaction | undefined;
  readonly ops: OpContext;
  /** Runs `fn` right after the reply is queued (the first event of a new watch). */
  afterReply(fn: () => void): void;
}

export interface Operation {
  readonly name: string;
  readonly priv?: boolean;
  readonly noTx?: boolean;
  readonly mutates?: boolean;
  /** Takes memory a domain's `memory` quota counts (nodes, node copies, watches, transactions). */
  readonly grows?: boolean;
  run(ctx: RequestContext): Buffer;
}

/** A node path; `path-max` applies to every caller, dom0 included (C `is_valid_nodename`). */
function path(ctx: RequestContext, raw: string, allowSpecial = false): CanonicalPath {
  const { conn, server } = ctx;
  return canonicalize(raw, {
    domid: conn.domid,
    allowSpecial,
    pathMax: server.quotas.get('path-max', conn.domid),
  });
}

/**
 * A WATCH / UNWATCH path (C `check_watch_path`): one starting with `@` is taken as it is, only
 * its length checked (XENSTORE_REL_PATH_MAX); any other is a node path.
 */
function watchPath(ctx: RequestContext, raw: string): CanonicalPath {
  if (!raw.startsWith('@')) return path(ctx, raw);
  if (raw.length > REL_PATH_MAX) throw new XsFault('EINVAL');
  return { path: raw, prefixLen: 0 };
}

/** `parse_domid`: decimal, at most 65535. */
function parseDomid(s: string | undefined): number {
  if (s === undefined || !/^\d{1,5}$/.test(s) || Number(s) > 0xffff) throw new XsFault('EINVAL');
  return Number(s);
}

/** `atoi`: leading decimal digits (with sign), 0 if none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

/**
 * A domid argument as C xenstored reads it: `atoi` into an unsigned int, no further check
 * ("abc" is 0, "-1" is 4294967295, "3x" is 3).
 */
function domidArg(s: string): number {
  return atoi(s) >>> 0;
}

function text(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'latin1');
}

/** Domain argument of RELEASE / RESUME (C `onearg_domain`): not 0, and introduced. */
function introducedDomain(ctx: RequestContext): number {
  const domid = domidArg(oneArg(ctx.msg.payload));
  if (domid === 0) throw new XsFault('EINVAL');
  if (ctx.server.domain(domid) === undefined) throw new XsFault('ENOENT');
  return domid;
}

/** The domain of GET_QUOTA / SET_QUOTA (C `find_or_alloc_existing_domain`): one that exists, else ENOENT. */
function quotaDomain(ctx: RequestContext, arg: string | undefined): number {
  const domid = parseDomid(arg);
  if (!ctx.server.isIntroduced(domid)) throw new XsFault('ENOENT');
  return domid;
}

function quotaReport(ctx: RequestContext, domid: number | undefined): string {
  const q = ctx.server.quotas;
  const lines = QUOTA_NAMES.map((n) => `${n.padEnd(17)}: ${String(q.get(n, domid)).padStart(8)} ${QUOTA_DESCRIPTIONS[n]}`);
  if (domid === undefined) return `Quota settings:\n${lines.join('\n')}\n`;
  const s = ctx.server;
  const used = [
    `nodes            : ${s.store.ownedBy(domid)}`,
    `watches          : ${s.watchCount(domid)}`,
    `transactions     : ${s.transactionCount(domid)}`,
  ];
  return `Domain ${domid}:\n${used.join('\n')}\nQuota settings:\n${lines.join('\n')}\n`;
}

/** CONTROL `help`: one `<command>\t<parameters>` line per command (Xen's layout). */
const CONTROL_HELP: readonly [string, string][] = [
  ['check', ''],
  ['log', 'on|off'],
  ['print', '<string>'],
  ['quota', '[set <name> <val>|<domid>]'],
  ['quota-soft', '[set <name> <val>]'],
  ['help', ''],
];

/** CONTROL: the subset that makes sense for dom0 (logging, quotas). */
function control(ctx: RequestContext): Buffer {
  const [cmd, ...args] = splitStrings(ctx.msg.payload);
  const s = ctx.server;
  switch (cmd) {
    case 'help':
      if (args.length > 0) break;
      return text(CONTROL_HELP.map(([c, p]) => `${c}\t${p}\n`).join(''));
    case 'check':
      if (args.length > 0) break;
      return OK_PAYLOAD;
    case 'log':
      if (args.length !== 1 || (args[0] !== 'on' && args[0] !== 'off')) break;
      s.logRequests = args[0] === 'on';
      return OK_PAYLOAD;
    case 'print':
      if (args.length !== 1) break;
      s.log(args[0]!);
      return OK_PAYLOAD;
    case 'quota': {
      if (args.length === 0) return text(quotaReport(ctx, undefined));
      if (args[0] === 'set') {
        const [, name, value] = args;
        if (args.length !== 3 || name === undefined || !isQuotaName(name) || atoi(value!) < 1) break;
        s.quotas.set(name, atoi(value!));
        return OK_PAYLOAD;
      }
      if (args.length === 1) return text(quotaReport(ctx, parseDomid(args[0])));
      break;
    }
    // Only `memory` has a soft (warning) level.
    case 'quota-soft': {
      if (args.length === 0) {
        return text(`Quota settings:\n${'memory'.padEnd(17)}: ${String(s.quotas.memorySoft).padStart(8)} ${QUOTA_DESCRIPTIONS.memory} (warning level)\n`);
      }
      if (args.length !== 3 || args[0] !== 'set' || args[1] !== 'memory' || atoi(args[2]!) < 1) break;
      s.quotas.memorySoft = atoi(args[2]!);
      return OK_PAYLOAD;
    }
    default:
      break;
  }
  throw new XsFault('EINVAL');
}

const table: [number, Operation][] = [
  [XsType.CONTROL, { name: 'CONTROL', priv: true, run: control }],
  [XsType.DIRECTORY, {
    name: 'DIRECTORY',
    run: (ctx) => encodeStrings(listChildren(ctx.ops, path(ctx, oneArg(ctx.msg.payload)).path)),
  }],
  [XsType.READ, {
    name: 'READ',
    run: (ctx) => readValue(ctx.ops, path(ctx, oneArg(ctx.msg.payload)).path),
  }],
  [XsType.GET_PERMS, {
    name: 'GET_PERMS',
    run: (ctx) => encodeStrings(formatPerms(getPerms(ctx.ops, path(ctx, oneArg(ctx.msg.payload), true).path))),
  }],
  [XsType.WATCH, {
    name: 'WATCH',
    grows: true,
    noTx: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length !== 2) throw new XsFault('EINVAL');
      const { conn, server } = ctx;
      const p = watchPath(ctx, args[0]!);
      const token = args[1]!;
      const key = `${p.path}\0${token}`;
      if (conn.watches.has(key)) throw new XsFault('EEXIST');
      if (!conn.privileged && server.quotas.exceeds('watches', conn.domid, server.watchCount(conn.domid) + 1)) {
        throw new XsFault('E2BIG');
      }
      const watch = { owner: conn, path: p.path, token, prefixLen: p.prefixLen };
      conn.watches.set(key, watch);
      server.watches.add(watch);
      ctx.afterReply(() => conn.deliver(p.path.slice(p.prefixLen), token));
      return OK_PAYLOAD;
    },
  }],
  [XsType.UNWATCH, {
    name: 'UNWATCH',
    noTx: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length !== 2) throw new XsFault('EINVAL');
      // Not validated (C `do_unwatch`): a path no watch can have just matches none.
      const raw = args[0]!;
      const abs = raw.startsWith('/') || raw.startsWith('@') ? raw : `${domainPath(ctx.conn.domid)}/${raw}`;
      const key = `${abs}\0${args[1]!}`;
      const w = ctx.conn.watches.get(key);
      if (w === undefined) throw new XsFault('ENOENT');
      ctx.conn.watches.delete(key);
      ctx.server.watches.remove(w);
      return OK_PAYLOAD;
    },
  }],
  [XsType.TRANSACTION_START, {
    name: 'TRANSACTION_START',
    grows: true,
    run: (ctx) => {
      const { conn, server } = ctx;
      if (ctx.tx !== undefined) throw new XsFault('EBUSY');
      if (!conn.privileged && server.quotas.exceeds('transactions', conn.domid, server.transactionCount(conn.domid) + 1)) {
        throw new XsFault('ENOSPC');
      }
      const id = conn.allocTxId();
      conn.transactions.set(id, new Transaction(id, conn.domid, conn.privileged, server.store, server.quotas));
      return text(String(id));
    },
  }],
  [XsType.TRANSACTION_END, {
    name: 'TRANSACTION_END',
    mutates: true,
    run: (ctx) => {
      const arg = oneArg(ctx.msg.payload);
      if (arg !== 'T' && arg !== 'F') throw new XsFault('EINVAL');
      const tx = ctx.tx;
      if (tx === undefined) throw new XsFault('ENOENT');
      ctx.conn.transactions.delete(tx.id);
      if (arg === 'T') for (const ev of tx.commit()) ctx.server.queueEvent(ev);
      return OK_PAYLOAD;
    },
  }],
  [XsType.INTRODUCE, {
    name: 'INTRODUCE',
    mutates: true,
    priv: true,
    run: (ctx) => {
      // domid, gfn (unused), event channel: at least three strings, the port above 0.
      const args = splitStrings(ctx.msg.payload);
      if (args.length < 3 || atoi(args[2]!) <= 0) throw new XsFault('EINVAL');
      const domid = domidArg(args[0]!);
      // No domain exists from DOMID_FIRST_RESERVED on: Xen cannot map its ring either.
      if (domid >= DOMID_FIRST_RESERVED || !ctx.server.mayIntroduce(domid)) throw new XsFault('EINVAL');
      ctx.server.introduce(domid);
      return OK_PAYLOAD;
    },
  }],
  [XsType.RELEASE, {
    name: 'RELEASE',
    mutates: true,
    priv: true,
    run: (ctx) => {
      ctx.server.release(introducedDomain(ctx));
      return OK_PAYLOAD;
    },
  }],
  [XsType.GET_DOMAIN_PATH, {
    name: 'GET_DOMAIN_PATH',
    run: (ctx) => text(domainPath(domidArg(oneArg(ctx.msg.payload)))),
  }],
  [XsType.WRITE, {
    name: 'WRITE',
    grows: true,
    mutates: true,
    run: (ctx) => {
      const payload = ctx.msg.payload;
      const nul = payload.indexOf(0);
      if (nul < 0) throw new XsFault('EINVAL');
      const p = path(ctx, payload.toString('latin1', 0, nul));
      writeValue(ctx.ops, p.path, Buffer.from(payload.subarray(nul + 1)));
      return OK_PAYLOAD;
    },
  }],
  [XsType.MKDIR, {
    name: 'MKDIR',
    grows: true,
    mutates: true,
    run: (ctx) => {
      makeDir(ctx.ops, path(ctx, oneArg(ctx.msg.payload)).path);
      return OK_PAYLOAD;
    },
  }],
  [XsType.RM, {
    name: 'RM',
    mutates: true,
    run: (ctx) => {
      removeNode(ctx.ops, path(ctx, oneArg(ctx.msg.payload)).path);
      return OK_PAYLOAD;
    },
  }],
  [XsType.SET_PERMS, {
    name: 'SET_PERMS',
    grows: true,
    mutates: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length < 2) throw new XsFault('EINVAL');
      const { conn, server } = ctx;
      if (!conn.privileged && server.quotas.exceeds('node-permissions', conn.domid, args.length - 1)) {
        throw new XsFault('ENOSPC');
      }
      // A node's state file record holds at most MAX_NODE_PERMS entries, for every connection.
      if (args.length - 1 > MAX_NODE_PERMS) throw new XsFault('E2BIG');
      const perms = args.slice(1).map(parsePerm);
      // An owner that cannot be a domain (C: the entry is marked ignored) is refused.
      if (perms[0]!.id >= DOMID_FIRST_RESERVED) throw new XsFault('ENOENT');
      setPerms(ctx.ops, path(ctx, args[0]!, true).path, perms);
      return OK_PAYLOAD;
    },
  }],
  [XsType.IS_DOMAIN_INTRODUCED, {
    name: 'IS_DOMAIN_INTRODUCED',
    priv: true,
    run: (ctx) => {
      const domid = domidArg(oneArg(ctx.msg.payload));
      return text(domid === DOMID_SELF || ctx.server.isIntroduced(domid) ? 'T' : 'F');
    },
  }],
  [XsType.RESUME, {
    name: 'RESUME',
    priv: true,
    run: (ctx) => {
      ctx.server.domain(introducedDomain(ctx))!.shutdown = false;
      return OK_PAYLOAD;
    },
  }],
  [XsType.SET_TARGET, {
    name: 'SET_TARGET',
    mutates: true,
    priv: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length < 2) throw new XsFault('EINVAL');
      ctx.server.setTarget(domidArg(args[0]!), domidArg(args[1]!));
      return OK_PAYLOAD;
    },
  }],
  // Not `noTx`: the header's transaction must exist (else ENOENT), and goes with the rest.
  [XsType.RESET_WATCHES, {
    name: 'RESET_WATCHES',
    run: (ctx) => {
      const { conn, server } = ctx;
      for (const w of conn.watches.values()) server.watches.remove(w);
      conn.watches.clear();
      conn.transactions.clear();
      return OK_PAYLOAD;
    },
  }],
  [XsType.DIRECTORY_PART, {
    name: 'DIRECTORY_PART',
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length !== 2) throw new XsFault('EINVAL');
      const off = atoi(args[1]!);
      return directoryPart(ctx.ops, path(ctx, args[0]!).path, off < 0 ? Number.MAX_SAFE_INTEGER : off);
    },
  }],
  // No optional feature (WATCHDEPTH, DOMID_ANY, ...) is offered, for any domain.
  [XsType.GET_FEATURE, {
    name: 'GET_FEATURE',
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length > 1) throw new XsFault('EINVAL');
      if (args.length === 1) parseDomid(args[0]);
      return text('0');
    },
  }],
  [XsType.SET_FEATURE, {
    name: 'SET_FEATURE',
    priv: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length !== 2) throw new XsFault('EINVAL');
      const domid = parseDomid(args[0]);
      if (ctx.server.isIntroduced(domid)) throw new XsFault('EBUSY');
      if (atoi(args[1]!) !== 0) throw new XsFault('EINVAL');
      return OK_PAYLOAD;
    },
  }],
  [XsType.GET_QUOTA, {
    name: 'GET_QUOTA',
    priv: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length > 2) throw new XsFault('EINVAL');
      if (args.length === 0) return text(QUOTA_WIRE_NAMES.join(' '));
      const domid = args.length === 2 ? quotaDomain(ctx, args[0]) : undefined;
      const name = args[args.length - 1]!;
      if (!isQuotaWireName(name)) throw new XsFault('EINVAL');
      return text(String(ctx.server.quotas.get(name, domid)));
    },
  }],
  [XsType.SET_QUOTA, {
    name: 'SET_QUOTA',
    priv: true,
    run: (ctx) => {
      const args = splitStrings(ctx.msg.payload);
      if (args.length !== 2 && args.length !== 3) throw new XsFault('EINVAL');
      const domid = args.length === 3 ? quotaDomain(ctx, args[0]) : undefined;
      const name = args[args.length - 2]!;
      const value = args[args.length - 1]!;
      if (!isQuotaWireName(name) || !/^\d+$/.test(value) || Number(value) >= 0xffffffff) throw new XsFault('EINVAL');
      ctx.server.quotas.set(name, Number(value), domid);
      return OK_PAYLOAD;
    },
  }],
];

export const OPERATIONS: ReadonlyMap<number, Operation> = new Map(table);
