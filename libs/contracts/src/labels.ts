/** Label name prefixes reserved for Signoff (DESIGN section 4): an approval can never be smuggled in. */
export const RESERVED_LABEL_PREFIXES = ['approval_', 'signoff.'] as const;

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * A name as a comparison key: NFKC (full-width and other compatibility forms become their plain
 * letters), default-ignorable characters removed (zero-width spaces, joiners, soft hyphens), then
 * case-folded (upper then lower case, so `ß`/`SS`, `ſ`/`s` and `K` (Kelvin)/`k` meet) and NFKC
 * again, an approximation of Unicode's NFKC_Casefold. Two names with the same key read the same.
 */
export function nameComparisonKey(name: string): string {
  return name.normalize('NFKC').replace(DEFAULT_IGNORABLE, '').toUpperCase().toLowerCase().normalize('NFKC');
}

/**
 * Whether a label name is reserved (`approval_*`, `signoff.*`), whatever its case or Unicode form:
 * `Approval_granted`, `SIGNOFF.x` and full-width `ａｐｐｒｏｖａｌ_x` are all reserved.
 */
export function isReservedLabel(name: string): boolean {
  const key = nameComparisonKey(name);
  return RESERVED_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix));
}
