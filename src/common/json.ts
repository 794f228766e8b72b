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
