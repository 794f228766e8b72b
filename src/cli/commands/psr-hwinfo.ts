import { connectToolstack } from '../../api/index.js';
import { defineCommand, FailureOnStdout } from '../command.js';
import { getopt } from '../getopt.js';
import { EXIT_LIBXL_FAIL, requirePsrAbsent } from '../psr.js';

/** What `psr-hwinfo -m` shows of a host without CMT (the one PSR group xl reports as absent). */
interface PsrHwinfo {
  readonly cmt: { readonly enabled: false };
}

const CMT_DISABLED = `Cache Monitoring Technology (CMT):\n${'Enabled'.padEnd(16)}: 0\n`;

/**
 * `xl psr-hwinfo [-m|--cmt] [-a|--cat] [-b|--mba]` (xl_psr.c), all three without options. On a
 * host without PSR, xl prints CMT as `Enabled : 0` and succeeds; CAT (L3 and L2) and MBA have no
 * info to show, which fails silently with libxl's ERROR_FAIL (exit 253) after what was printed.
 */
export const psrHwinfoCommand = defineCommand<PsrHwinfo>({
  async run(ctx, args) {
    const p = getopt(args, 'mab', [{ name: 'cmt', hasArg: false, short: 'm' }, { name: 'cat', hasArg: false, short: 'a' }, { name: 'mba', hasArg: false, short: 'b' }]);
    const all = !p.has('m') && !p.has('a') && !p.has('b');
    const host = await connectToolstack(ctx).hostInfo();
    if (all || p.has('m')) requirePsrAbsent(host, 'CMT');
    if (all || p.has('a')) {
      requirePsrAbsent(host, 'L3 CAT');
      requirePsrAbsent(host, 'L2 CAT');
    }
    if (all || p.has('b')) requirePsrAbsent(host, 'MBA');
    const text = all || p.has('m') ? CMT_DISABLED : '';
    if (all || p.has('a') || p.has('b')) {
      throw new FailureOnStdout('NOT_SUPPORTED', 'Cannot show cache and memory bandwidth allocation (CAT, MBA): this host has no Intel RDT', text, { lines: [], exitCode: EXIT_LIBXL_FAIL });
    }
    return { data: { cmt: { enabled: false } } };
  },
  render: () => CMT_DISABLED,
});
