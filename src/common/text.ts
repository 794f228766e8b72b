/** `s` without leading and trailing characters of `chars` (or trailing ones only), in linear time. */
export function trimWith(s: string, chars: string, ends: 'both' | 'end' = 'both'): string {
  let a = 0;
  let b = s.length;
  if (ends === 'both') while (a < b && chars.includes(s.charAt(a))) a++;
  while (b > a && chars.includes(s.charAt(b - 1))) b--;
  return s.slice(a, b);
}
