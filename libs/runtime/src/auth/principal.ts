import { compileGlob, DEFAULT_TENANT, Glob } from '@signoff/contracts';

/**
 * The API roles. `worker` is a machine role: it may report results on `signoff.jobs.results`
 * (DESIGN section 12) and nothing else.
 */
export const ROLES = ['submitter', 'reviewer', 'admin', 'auditor', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller (DESIGN section 4 claims). */
export interface Principal {
  readonly sub: string;
  readonly roles: ReadonlySet<Role>;
  /** Globs of topics a reviewer may decide on; null = all. */
  readonly topics: readonly string[] | null;
  /** Tenants the caller may see; null = all. */
  readonly tenants: readonly string[] | null;
  /**
   * Every string of the token's `roles` claim, including the domain roles an approval rule names
   * as `reviewers` (e.g. `finance-approver`); `roles` keeps only the API roles above.
   */
  readonly claimedRoles?: readonly string[];
  /**
   * When the credential stops being accepted (the JWT's `exp` plus the verifier's clock tolerance,
   * in ms since the epoch); absent for
   * principals that do not come from a token (e.g. a Slack user mapping). Long-lived answers
   * (the approval streams) end at this instant: a stream never outlives its token.
   */
  readonly expiresAtMs?: number;
}

/** Compiled topic globs, by glob; bounded: tokens carry globs of their own choosing. */
const globCache = new Map<string, Glob>();
/** How many distinct topic globs stay compiled (the oldest is dropped first). */
export const TOPIC_GLOB_CACHE_SIZE = 1024;

/**
 * A reviewer's topic glob (a `topics` claim or a `topic` filter), compiled and cached: `*` matches
 * any run of characters except line terminators (job topics never hold one), everything else is
 * literal. Matching is linear in the topic (`Glob` of @signoff/contracts), whatever the glob.
 */
export function topicGlob(glob: string): Glob {
  let compiled = globCache.get(glob);
  if (compiled === undefined) {
    compiled = compileGlob(glob, { star: 'within-line' });
    if (globCache.size >= TOPIC_GLOB_CACHE_SIZE) globCache.delete(globCache.keys().next().value as string);
    globCache.set(glob, compiled);
  }
  return compiled;
}

export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return roles.some((r) => principal.roles.has(r));
}

/** Whether the caller may see jobs of this tenant (a job of another tenant is answered 404). */
export function canSeeTenant(principal: Principal, tenant: string): boolean {
  return principal.tenants === null || principal.tenants.includes(tenant);
}

/** Whether a reviewer may decide on this topic (admins are not implicitly reviewers of every topic). */
export function canDecideTopic(principal: Principal, topic: string): boolean {
  return principal.topics === null || principal.topics.some((g) => topicGlob(g).test(topic));
}

/** What {@link mayReadJob} needs to know about a job: the hashed request's tenant, topic and submitter. */
export interface ReadableJob {
  readonly tenant: string;
  readonly topic: string;
  readonly submitted_by: string;
}

/**
 * Who may read a job (its state, approval, request, history), by the API roles of the token:
 * nobody outside the job's tenants; admins and auditors every job of their tenants (topics do not
 * limit reading); reviewers the jobs whose topic their `topics` globs cover; a submitter the jobs
 * it submitted (its `sub` equal to `submitted_by`, byte for byte: the stricter reading). Any role
 * that grants it suffices. Everything else is answered like a job that does not exist.
 */
export function mayReadJob(principal: Principal, job: ReadableJob): boolean {
  if (!canSeeTenant(principal, job.tenant)) return false;
  if (principal.roles.has('admin') || principal.roles.has('auditor')) return true;
  if (principal.roles.has('reviewer') && canDecideTopic(principal, job.topic)) return true;
  return principal.roles.has('submitter') && principal.sub === job.submitted_by;
}

/**
 * The tenant a read names when the caller did not say (`tenant` query parameter or gRPC field):
 * the token's only tenant when its `tenants` claim lists exactly one, else `default`.
 */
export function defaultTenantOf(principal: Principal): string {
  return principal.tenants !== null && principal.tenants.length === 1 ? principal.tenants[0] : DEFAULT_TENANT;
}
