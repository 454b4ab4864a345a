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
