/**
 * `JSON.stringify` for dom0's data, which may hold bigints (libxl's 64-bit fields): a bigint
 * becomes a JSON number when it is a safe integer, else its decimal digits as a string.
 */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, bigintReplacer, indent);
}

function bigintReplacer(_key: string, v: unknown): unknown {
  if (typeof v !== 'bigint') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

/**
 * A value as an error message quotes it: JSON (so control characters and quotes are escaped),
 * cut to `max` characters; a list or object nested too deep to write, by its kind.
 */
export function shownValue(v: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof v === 'bigint' ? v.toString() : JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? `[${v.length} items, nested too deep to show]` : '{nested too deep to show}';
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** Whether JSON value `v` nests lists and objects more than `limit` deep (walked without recursion). */
export function nestsDeeperThan(v: unknown, limit: number): boolean {
  let level: unknown[] = [v];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const x of level) {
      if (typeof x === 'object' && x !== null) for (const y of Object.values(x)) next.push(y);
    }
    level = next;
  }
  return false;
}

/**
 * What `table` holds under `key` as its own entry, never what every object inherits
 * (`constructor`, `toString`, `__proto__`): the lookup for tables keyed by what a user wrote.
 */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
