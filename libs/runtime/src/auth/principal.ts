import { DEFAULT_TENANT } from '@signoff/contracts';

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
}

const globCache = new Map<string, RegExp>();
/** `*` matches any run of characters (dots included); everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp('^' + glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    globCache.set(glob, re);
  }
  return re;
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
  return principal.topics === null || principal.topics.some((g) => globToRegExp(g).test(topic));
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
