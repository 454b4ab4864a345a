/** Job ids, topics and tenants: printable, no whitespace, bounded (and never a `|`). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@\-/]{0,199}$/;

/** The tenant of a job request that names none (DESIGN section 3 defaults). */
export const DEFAULT_TENANT = 'default';

/**
 * A job's identity: job ids are scoped by tenant (DESIGN section 12), so the same `job_id` in two
 * tenants names two jobs. Every read and write of a job takes one.
 */
export interface JobRef {
  readonly tenant: string;
  readonly jobId: string;
}

/** A job reference (no validation: ids from outside are checked with {@link ID_PATTERN} first). */
export function jobRef(tenant: string, jobId: string): JobRef {
  return { tenant, jobId };
}

/** Whether both parts of a reference are ids a submission could have used. */
export function isValidJobRef(ref: JobRef): boolean {
  return ID_PATTERN.test(ref.tenant) && ID_PATTERN.test(ref.jobId);
}

/** Two references name the same job. */
export function sameJobRef(a: JobRef, b: JobRef): boolean {
  return a.tenant === b.tenant && a.jobId === b.jobId;
}

/** `jobId` for the default tenant, `tenant|jobId` otherwise: for messages and logs, never parsed. */
export function describeJobRef(ref: JobRef): string {
  return ref.tenant === DEFAULT_TENANT ? ref.jobId : `${ref.tenant}|${ref.jobId}`;
}

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The form of a subject (`sub`, `submitted_by`, a reviewer) that identity comparisons use: NFKC,
 * default-ignorable code points (zero-width spaces, joiners, variation selectors) removed, then
 * case-folded (upper- then lower-cased, which folds `ß` to `ss` and final sigma like full case
 * folding does) and NFKC again; an approximation of Unicode's NFKC_Casefold that errs towards
 * treating two spellings as one identity. `Agent-X`, `agent-x` and `ａｇｅｎｔ－ｘ` are one identity.
 * Used for self-approval and for counting distinct reviewers; stored names keep their spelling.
 */
export function normalizeIdentity(subject: string): string {
  return subject.normalize('NFKC').replace(DEFAULT_IGNORABLE, '').toUpperCase().toLowerCase().normalize('NFKC');
}

/** Whether two subjects are one identity under {@link normalizeIdentity}. */
export function sameIdentity(a: string, b: string): boolean {
  return a === b || normalizeIdentity(a) === normalizeIdentity(b);
}
