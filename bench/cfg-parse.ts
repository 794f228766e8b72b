// Benchmark: parsing a generated 5,000-line xl.cfg with parseCfg, against a same-run baseline of
// JSON.parse on the JSON text of the same settings. Prints one JSON object.
import { pathToFileURL } from 'node:url';
import { parseCfg, rawCfgSettings } from '../src/config/index.js';

/** A config of at least `lines` lines (whole statements) mixing every construct: strings, numbers, lists, comments, `+=`. */
export function generateCfg(lines: number): string {
  const out: string[] = [];
  let i = 0;
  while (out.length < lines) {
    switch (i % 8) {
      case 0:
        out.push(`# section ${i}`);
        break;
      case 1:
        out.push(`name_${i} = "guest-${i}"`);
        break;
      case 2:
        out.push(`memory_${i} = ${512 + i}`);
        break;
      case 3:
        out.push(`vif_${i} = [ 'mac=00:16:3e:00:${(i % 256).toString(16).padStart(2, '0')}:01,bridge=xenbr0', 'bridge=xenbr1' ]`);
        break;
      case 4:
        out.push(`disk_${i} = [`, `  'format=raw, vdev=xvda, access=rw, target=/images/${i}.img', # root`, `  'file:/iso/${i}.iso,hdc:cdrom,r',`, ']');
        break;
      case 5:
        out.push(`extra_${i} = "console=hvc0"; cpus_${i} = "0-3,^1"`);
        break;
      case 6:
        out.push(`extra_${i - 1} += " root=/dev/xvda1"`);
        break;
      default:
        out.push('');
    }
    i++;
  }
  return `${out.join('\n')}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => unknown, runs: number): number {
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(samples);
}

export function benchCfgParse(lines = 5000, runs = 21): Record<string, unknown> {
  const cfg = generateCfg(lines);
  const doc = parseCfg(cfg, { source: 'bench.cfg' });
  const json = JSON.stringify(rawCfgSettings(doc));
  // Warm both paths before measuring.
  time(() => parseCfg(cfg, { source: 'bench.cfg' }), 3);
  time(() => JSON.parse(json) as unknown, 3);
  const cfgMs = time(() => parseCfg(cfg, { source: 'bench.cfg' }), runs);
  const jsonMs = time(() => JSON.parse(json) as unknown, runs);
  return {
    bench: 'cfg-parse',
    lines: cfg.split('\n').length - 1,
    settings: doc.settings.length,
    cfg_bytes: cfg.length,
    json_bytes: json.length,
    runs,
    parse_cfg_ms_median: Number(cfgMs.toFixed(3)),
    parse_cfg_ops_per_sec: Number((1000 / cfgMs).toFixed(1)),
    baseline_json_parse_ms_median: Number(jsonMs.toFixed(3)),
    baseline_json_parse_ops_per_sec: Number((1000 / jsonMs).toFixed(1)),
    ratio_cfg_to_json: Number((cfgMs / jsonMs).toFixed(2)),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(benchCfgParse(), null, 2));
}
