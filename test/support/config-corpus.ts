// The configs xl resolves from the test corpus: the golden create cases and generated ones, for
// the tests that check what the IDL (and its JSON Schema) makes of every config xl accepts.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDomainConfig, parseCfg, readXlConf, resolveDomainConfig, withExtraConfig, xlConfFromDoc } from '../../src/config/index.js';
import type { DomainConfig } from '../../src/config/index.js';
import type { FuzzCase } from '../xen-reference/generate.js';

const GOLDEN = join(import.meta.dirname, '..', '..', '..', 'test', 'golden', 'create');
const UUID = { generateUuid: () => '00000000-0000-4000-8000-000000000000' };

/** What `load` gives, or undefined where xl fails on the config. */
export function attempt<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}

/** Each golden create config (with its xl.conf, if it has one) that xl resolves, by file name. */
export function goldenConfigs(): Array<{ readonly file: string; readonly config: DomainConfig }> {
  return readdirSync(GOLDEN).filter((f) => f.endsWith('.cfg')).sort().flatMap((file) => {
    const conf = join(GOLDEN, `${file.slice(0, -'.cfg'.length)}.conf`);
    const xlConf = existsSync(conf) ? readXlConf(conf) : undefined;
    const config = attempt(() => loadDomainConfig(join(GOLDEN, file), { ...UUID, ...(xlConf === undefined ? {} : { xlConf }) }).config);
    return config === undefined ? [] : [{ file, config }];
  });
}

/** The config of a generated `xl create` case (its cfg, its `KEY=VALUE` arguments, its xl.conf) as xl resolves it, or undefined. */
export function generatedConfig(c: FuzzCase): DomainConfig | undefined {
  if (c.cfg === undefined) return undefined;
  const extra = c.argv.slice(c.argv.findIndex((a) => a.endsWith('FILE')) + 1).filter((a) => a.includes('=') && !a.startsWith('-'));
  return attempt(() => resolveDomainConfig(parseCfg(withExtraConfig(c.cfg ?? '', extra), { source: 'f.cfg' }), {
    ...UUID,
    ...(c.xlconf === undefined ? {} : { xlConf: xlConfFromDoc(parseCfg(c.xlconf, { source: 'xl.conf' })) }),
  }).config);
}
