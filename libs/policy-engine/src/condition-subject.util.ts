import { compileGlob, type Glob } from '@signoff/contracts';

/** The job fields a `when` key can name directly. */
export const JOB_FIELDS = ['topic', 'priority', 'tenant', 'submitted_by'] as const;
/** A job field a `when` key can name directly. */
export type JobField = (typeof JOB_FIELDS)[number];

/**
 * What a `when` key reads from the job:
 * - `topic`, `priority`, `tenant`, `submitted_by`: that field;
 * - `payload` / `payload.a.b`: the payload or a path into it (own properties only; digits index arrays);
 * - `labels.<name>`: the label `<name>` (for label names that clash with the keys above);
 * - any other key: the label of that name (`env` is `labels.env`).
 */
export type ConditionSubject =
  | { readonly kind: 'field'; readonly field: JobField }
  | { readonly kind: 'label'; readonly name: string }
  | { readonly kind: 'payload'; readonly path: readonly string[] };

const FIELD_SET: ReadonlySet<string> = new Set(JOB_FIELDS);

/** The subject a `when` key names, or an error message. */
export function parseSubject(key: string): ConditionSubject | { readonly error: string } {
  if (FIELD_SET.has(key)) return { kind: 'field', field: key as JobField };
  if (key === 'payload') return { kind: 'payload', path: [] };
  if (key.startsWith('payload.')) {
    const path = key.slice('payload.'.length).split('.');
    if (path.some((segment) => segment === '')) return { error: `"${key}" is not a payload path: empty segment` };
    return { kind: 'payload', path };
  }
  if (key.startsWith('labels.')) {
    const name = key.slice('labels.'.length);
    if (name === '') return { error: `"${key}" names no label` };
    return { kind: 'label', name };
  }
  if (key === 'labels') return { error: '"labels" names no label; use labels.<name> or the bare label name' };
  return { kind: 'label', name: key };
}

/**
 * A `when` string with `*` as a compiled glob: `*` matches any run of characters, line breaks
 * included (a label or payload value may hold them), anchored at both ends; linear-time matching.
 */
export function policyGlob(pattern: string): Glob {
  return compileGlob(pattern, { star: 'anything' });
}
