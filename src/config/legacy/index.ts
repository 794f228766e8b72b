// Legacy xm (Python) configs: a safe evaluator of the subset they use, producing a CfgDocument.
import type { CfgDocument } from '../cfg/types.js';
import { runLegacy } from './evaluate.js';

export { LEGACY_HINT } from './errors.js';

/**
 * Evaluates a legacy xm config (which xl rejects) into the settings xl would store for the same
 * values, with one warning naming the legacy constructs met. Throws `CFG_LEGACY` for anything
 * outside the subset.
 */
export function evaluateLegacyConfig(text: string, options: { readonly source: string }): CfgDocument {
  const r = runLegacy(text, options.source);
  const used = r.constructs.length > 0 ? r.constructs.join('; ') : 'Python syntax';
  const warning = `${options.source}: warning: legacy xm (Python) config, which xl rejects, evaluated by dom0's xm subset (${used})`;
  return { source: options.source, settings: r.settings, warnings: [warning] };
}
