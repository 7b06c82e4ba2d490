/**
 * The median of `xs` (seconds, milliseconds: any unit, returned in it): the middle value,
 * or the mean of the two middle values for an even count, so two rounds give their mean
 * and not the slower one. Pure.
 * @throws Error for an empty list
 */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
