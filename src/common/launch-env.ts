/**
 * What the launchers of dom0's own Node processes (bin/xl, bin/dom0d's first line, xl starting
 * dom0d) change in the environment for that process alone, and how the process puts it back
 * first thing, so that what it runs (QEMU, scripts, the migration transport, dom0d) sees the
 * user's environment unchanged.
 *
 * NODE_EXTRA_CA_CERTS: Node 20 reads and parses the named bundle at every start, before any of our
 * code runs (Debian's ca-certificates: about 35 ms of a 95 ms `node -e 0` on this machine). The
 * certificates are for TLS clients, and neither xl nor dom0d is one (dom0d's HTTPS listener is a
 * server, with its own certificate). The launcher gives Node an empty value and keeps the user's in
 * CA_CERTS_ASIDE (empty when it was unset). A future TLS client in either process must not rely on
 * the variable.
 */
const CA_CERTS = 'NODE_EXTRA_CA_CERTS';
const CA_CERTS_ASIDE = 'DOM0_NODE_EXTRA_CA_CERTS';

/** `env` as a launcher hands it to one of our Node processes. */
export function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, [CA_CERTS]: '', [CA_CERTS_ASIDE]: env[CA_CERTS] ?? '' };
}

/** Puts back, in `env` itself, what the launcher set aside; nothing when no launcher did. */
export function restoreLaunchEnv(env: NodeJS.ProcessEnv): void {
  const aside = env[CA_CERTS_ASIDE];
  if (aside === undefined) return;
  delete env[CA_CERTS_ASIDE];
  if (aside === '') delete env[CA_CERTS];
  else env[CA_CERTS] = aside;
}

/**
 * SIGUSR1 made Node open its inspector on 127.0.0.1:9229, where any local user could run code in
 * the process (root's, for dom0d): a stray `kill -USR1` (a log rotation's habit) was enough.
 * With a listener of its own for the signal Node does not open it; the signal then does nothing.
 * Each of our Node processes calls this first thing (`proc` is `process`).
 */
export function refuseDebuggerSignal(proc: { on(signal: 'SIGUSR1', listener: () => void): unknown }): void {
  proc.on('SIGUSR1', () => undefined);
}

/**
 * What of an operator's environment dom0d takes on: an allow-list. dom0d is started by whichever
 * xl comes first and then serves every operator, running each domain's QEMU and scripts, as root,
 * for as long as it lives: a variable that changes what a program loads or runs (Node's options,
 * the dynamic loader's, glibc's and GIO's module paths, QEMU's module directory, OpenSSL's
 * configuration — Node reads it as it starts, and it may load a library —, a shell's start-up
 * file, exported functions, Perl's and Python's) would act in all of them; the locale changes the
 * text of the tools whose output is read (`fallocate`'s errors, say); the time zone is the host's
 * (/etc/localtime), not that of whoever ran the first xl (a guest's clock with `localtime=1`);
 * and an environment of megabytes made every later spawn fail (E2BIG) for dom0d's lifetime. So
 * dom0d keeps dom0's own variables (DOM0_*, XDG_* for a user's directories), PATH, HOME, the
 * user's names and an absolute TMPDIR, each of at most 4 KiB; the scripts it runs get what they
 * need from it explicitly, as libxl gives Xen's.
 */
const FOR_DAEMONS = /^(?:DOM0_|XDG_)|^(?:PATH|HOME|TMPDIR|USER|LOGNAME|NODE_EXTRA_CA_CERTS)$/;
const MAX_DAEMON_VALUE = 4096;
/** Where the host's tools are, whatever PATH the first xl had (cron's lacks the sbin directories). */
const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Makes `env` itself the environment of a daemon (see FOR_DAEMONS): every other variable goes, the
 * locale is C.UTF-8, and PATH keeps only absolute directories (an empty or relative entry names
 * whatever directory a process is in) followed by the system's that it lacks. Returns `env`.
 */
export function toDaemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const [name, value] of Object.entries(env)) {
    const kept = FOR_DAEMONS.test(name) && (value ?? '').length <= MAX_DAEMON_VALUE && (name !== 'TMPDIR' || (value ?? '').startsWith('/'));
    if (!kept) delete env[name];
  }
  env['LC_ALL'] = 'C.UTF-8';
  const given = (env['PATH'] ?? '').split(':').filter((d) => d.startsWith('/'));
  env['PATH'] = [...given, ...SYSTEM_PATH.filter((d) => !given.includes(d))].join(':');
  return env;
}

const SIGNALS_IGNORED = 'DOM0_XL_SIGIGN';
/** The stop signals xl acts on, by number (bit n-1 of the kernel's SigIgn mask is signal n). */
export const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * The stop signals xl's process was started with ignored — `nohup` ignores SIGHUP, a shell's
 * background job SIGINT — which Node, resetting every disposition at its start, would otherwise
 * die of (a `nohup xl migrate ... &` ended at logout). bin/xl passes the shell's SigIgn mask in
 * DOM0_XL_SIGIGN; it is taken out of `env` (what xl runs starts with its own dispositions).
 */
export function takeIgnoredSignals(env: NodeJS.ProcessEnv): ReadonlySet<StopSignal> {
  const mask = env[SIGNALS_IGNORED];
  delete env[SIGNALS_IGNORED];
  if (mask === undefined || !/^[0-9a-f]{1,16}$/i.test(mask)) return new Set();
  const bits = BigInt(`0x${mask}`);
  return new Set((Object.keys(STOP_SIGNALS) as StopSignal[]).filter((s) => ((bits >> BigInt(STOP_SIGNALS[s] - 1)) & 1n) === 1n));
}
