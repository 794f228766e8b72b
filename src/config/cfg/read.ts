import { isErrno, strerror, ToolstackError } from '../../common/index.js';
import { firstNonUtf8Line, readPlainFileSync } from '../../host/index.js';
import { evaluateLegacyConfig } from '../legacy/index.js';
import { parseCfgText, syntaxError } from './parser.js';
import type { CfgDocument } from './types.js';

export interface ReadCfgOptions {
  /** Command-line `key=value` arguments, appended to the file as xl does (grammar.md §1.6). */
  readonly extra?: readonly string[];
  /** Evaluate Python-style (xm) configs with the legacy interpreter; default true. */
  readonly legacy?: boolean;
}


/**
 * The largest config file read. Xen's limit is INT_MAX; an xl.cfg is a few KiB, and reading and
 * parsing gigabytes only ends in running out of memory.
 */
export const MAX_CFG_FILE_BYTES = 16 << 20;


const READ_HINTS: Readonly<Record<string, string>> = {
  ENOENT: 'check the path; configs usually live in /etc/xen',
  ENOTTY: 'it is not a plain file (a directory, device, FIFO or socket): give the config as a file',
  EFBIG: `an xl.cfg is a few KiB; this one is over ${MAX_CFG_FILE_BYTES >> 20} MiB: is it the right file?`,
};

/**
 * A config file's text, as libxl reads one (`readPlainFileSync`: ENOTTY, EFBIG; throws the errno
 * error). One that is not UTF-8 is refused (CFG_READ, naming its first such line): xl passes
 * its bytes on, where decoding them would name another file (U+FFFD for each bad byte).
 */
function readPlainFile(path: string): string {
  const bytes = readPlainFileSync(path, MAX_CFG_FILE_BYTES);
  const bad = firstNonUtf8Line(bytes);
  if (bad !== undefined) {
    const line = `Failed to read config file: ${path}: line ${bad} is not valid UTF-8`;
    throw new ToolstackError('CFG_READ', line, {
      lines: [line],
      hint: 'dom0 reads configs as UTF-8 (a name or path in another encoding would name something else): convert the file, e.g. iconv -f latin1 -t utf-8',
    });
  }
  return bytes.toString('utf8');
}

/**
 * The text xl parses for `xl create FILE k=v ...`: the file (`/dev/null` = nothing), then, when
 * there are extra arguments, a newline, each argument followed by a newline, and a newline.
 */
export function withExtraConfig(fileText: string, extra: readonly string[] = []): string {
  if (extra.length === 0) return fileText;
  return `${fileText}\n${extra.map((a) => `${a}\n`).join('')}\n`;
}

/**
 * True when a config xl rejects is a legacy xm config, to be evaluated as Python: it has a line
 * of Python that no xl.cfg can have (`import`, `from X import`, `if/elif/else ...:`). Anything
 * else xl's grammar rejects fails exactly as in xl, "looks like Python" warning included.
 */
function looksLegacy(text: string): boolean {
  return /^(import\s|from\s+\S+\s+import\s|(if|elif)\s.*:\s*(#.*)?$|else\s*:)/m.test(text);
}

/**
 * Reads and parses a config file as `xl create` does. Python-style configs, which xl rejects,
 * are evaluated by the legacy interpreter (unless `legacy: false`), with a warning in
 * `doc.warnings`. Throws `CFG_READ` (unreadable file) or `CFG_SYNTAX` (xl's own lines; for a
 * legacy config the interpreter cannot evaluate, its complaint is the hint).
 */
export function readCfgFile(path: string, options: ReadCfgOptions = {}): CfgDocument {
  let fileText = '';
  if (path !== '/dev/null') {
    try {
      fileText = readPlainFile(path);
    } catch (e) {
      if (!isErrno(e)) throw e;
      const reason = strerror(e.code);
      throw new ToolstackError('CFG_READ', `Failed to read config file: ${path}: ${reason}`, {
        lines: [`Failed to read config file: ${path}: ${reason}`],
        hint: `${e.code ?? 'error'}: ${READ_HINTS[e.code ?? ''] ?? `check that ${path} is a readable file`}`,
        cause: e,
      });
    }
  }
  const text = withExtraConfig(fileText, options.extra);
  const result = parseCfgText(text, path);
  if (result.errors.length === 0) return { source: path, settings: result.settings, warnings: [], text };
  if (options.legacy !== false && looksLegacy(fileText)) {
    let legacy: CfgDocument;
    try {
      legacy = evaluateLegacyConfig(fileText, { source: path });
    } catch (e) {
      if (!(e instanceof ToolstackError) || e.code !== 'CFG_LEGACY') throw e;
      const xl = syntaxError(path, result);
      throw new ToolstackError(xl.code, xl.message, { ...(xl.lines === undefined ? {} : { lines: xl.lines }), hint: e.message, ...(xl.pos === undefined ? {} : { pos: xl.pos }) });
    }
    if (options.extra === undefined || options.extra.length === 0) return { ...legacy, text };
    // The extra arguments are xl syntax, on the lines after the file's (as xl numbers them).
    const extra = parseCfgText(withExtraConfig(fileText.replace(/[^\n]/g, ''), options.extra), path);
    if (extra.errors.length > 0) throw syntaxError(path, extra);
    return { ...legacy, settings: [...legacy.settings, ...extra.settings], text };
  }
  throw syntaxError(path, result);
}
