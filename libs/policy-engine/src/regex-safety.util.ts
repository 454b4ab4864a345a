/**
 * Whether a regular expression repeats a group that itself repeats (`(a+)+`, `(\w*)*`,
 * `(x+y){2,}`): the textbook shape of catastrophic backtracking. `matches` runs synchronously on
 * every job's values, which the submitter controls, so such patterns are refused at validation. A
 * heuristic, not a proof: overlapping alternations such as `(a|aa)+` are not detected.
 */
export function hasNestedQuantifier(pattern: string): boolean {
  const groups: boolean[] = []; // per open group: whether it contains an unbounded quantifier
  let inClass = false;
  let closedGroupRepeats: boolean | null = null; // set just after `)`: did that group repeat inside?
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const afterGroup = closedGroupRepeats;
    closedGroupRepeats = null;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      groups.push(false);
      continue;
    }
    if (c === ')') {
      const repeats = groups.pop() ?? false;
      if (repeats && groups.length > 0) groups[groups.length - 1] = true;
      closedGroupRepeats = repeats;
      continue;
    }
    const unbounded = c === '*' || c === '+' || (c === '{' && /^\{\d+,\d*\}/.test(pattern.slice(i)));
    if (!unbounded) continue;
    if (afterGroup === true) return true;
    if (groups.length > 0) groups[groups.length - 1] = true;
  }
  return false;
}
