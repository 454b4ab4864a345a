import { foldJob, type CommandMetadata, type Delegation } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import type { ActivePolicyView } from '@signoff/core';
import type { Principal } from '@signoff/runtime';
import { describe, expect, it } from 'vitest';
import { approveJobCommand } from '../approve/approve-job.builder';
import { rejectJobCommand } from '../reject/reject-job.builder';
import { awaitingJob, REVIEWED_SNAPSHOT } from '../testing/awaiting-job';
import { grantDelegationCommand } from './grant-delegation/grant-delegation.builder';
import { revokeDelegationCommand, revokesAsAdmin } from './revoke-delegation/revoke-delegation.builder';
import type { DelegatedVote } from './shared/delegation-streams';

const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'c-1', actor: 'bob', now: '2025-03-01T10:05:00.000Z' };
const ref = { tenant: 'acme', jobId: 'job-1' };
const bob: Principal = { sub: 'bob', roles: new Set(['reviewer']), topics: null, tenants: ['acme'], claimedRoles: ['reviewer'] };
const alice: Principal = { sub: 'alice', roles: new Set(['reviewer']), topics: ['payments.*'], tenants: ['acme', 'globex'], claimedRoles: ['reviewer', 'finance-approver'] };
const link = { delegation_id: 'd-1', delegator: 'alice', delegate: 'bob' };
const chain = (authority: { tenants?: string[] | null; topics?: string[] | null } = {}): DelegatedVote => ({
  ok: true,
  chain: { voter: 'alice', cast_by: 'bob', links: [link], roles: ['reviewer', 'finance-approver'], authorities: [{ roles: ['reviewer', 'finance-approver'], tenants: authority.tenants ?? ['acme'], topics: authority.topics ?? ['payments.*'] }] },
});
const approve = (delegated: DelegatedVote | undefined, principal = bob, state = awaitingJob(ref.jobId)) =>
  approveJobCommand(
    { principal, ref, input: {}, activePolicy: () => ({ snapshot: REVIEWED_SNAPSHOT, version: '1' }) as unknown as ActivePolicyView, snapshotMode: 'strict', approvalId: 'a-1', metadata, ...(delegated ? { delegated } : {}) },
    state,
  );

describe('approve / reject builders with on_behalf_of', () => {
  it('the vote is the delegator\'s with the chain\'s roles, and records who cast it', () => {
    expect(approve(chain()).data).toMatchObject({ reviewer: 'alice', reviewer_roles: ['reviewer', 'finance-approver'], delegation: { cast_by: 'bob', on_behalf_of: [link] } });
    expect(rejectJobCommand({ principal: bob, ref, input: { reason: 'no' }, metadata, delegated: chain() }, awaitingJob(ref.jobId)).data).toMatchObject({ reviewer: 'alice', delegation: { cast_by: 'bob' } });
    expect(approve(undefined).data).toMatchObject({ reviewer: 'bob', reviewer_roles: ['reviewer'] });
    expect(approve(undefined).data).not.toHaveProperty('delegation');
  });

  it('403 forbidden when a link\'s recorded tenants or topics do not cover the job', () => {
    expect(() => approve(chain({ tenants: ['globex'] }))).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => approve(chain({ topics: ['deploys.*'] }))).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(approve(chain({ tenants: null, topics: null })).data.reviewer).toBe('alice');
  });

  it('the job\'s own checks come first: 404 for a missing job, 403 for the caller\'s topics, then the delegation refusal', () => {
    const refused: DelegatedVote = { ok: false, error: new SignoffError('delegation_not_found', 'none') };
    expect(() => approve(refused, bob, foldJob([]))).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => approve(refused, { ...bob, topics: ['deploys.*'] })).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => approve(refused)).toThrow(expect.objectContaining({ code: 'delegation_not_found' }));
  });
});

describe('grantDelegationCommand', () => {
  it('records the caller\'s authority as its token has it; starts now by default', () => {
    const command = grantDelegationCommand(alice, { delegate: 'bob', ends_at: '2025-03-05T00:00:00Z', reason: 'away' }, 'd-1', metadata);
    expect(command.data).toEqual({
      delegation_id: 'd-1',
      delegator: 'alice',
      delegate: 'bob',
      starts_at: metadata.now,
      ends_at: '2025-03-05T00:00:00Z',
      reason: 'away',
      roles: ['reviewer', 'finance-approver'],
      tenants: ['acme', 'globex'],
      topics: ['payments.*'],
    });
  });

  it('roles and tenants may narrow it, never widen it', () => {
    expect(grantDelegationCommand(alice, { delegate: 'bob', ends_at: 'x', reason: 'r', roles: ['finance-approver'], tenants: ['acme'] }, 'd', metadata).data).toMatchObject({ roles: ['finance-approver'], tenants: ['acme'] });
    expect(() => grantDelegationCommand(alice, { delegate: 'bob', ends_at: 'x', reason: 'r', roles: ['change-approver'] }, 'd', metadata)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    expect(() => grantDelegationCommand(alice, { delegate: 'bob', ends_at: 'x', reason: 'r', tenants: ['initech'] }, 'd', metadata)).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });
});

describe('revokeDelegationCommand', () => {
  const delegation = { delegation_id: 'd-1', delegator: 'alice', tenants: ['acme'] } as unknown as Delegation;
  it('an admin revokes as admin only when its tenants reach the delegation', () => {
    const admin = (tenants: string[] | null): Principal => ({ sub: 'root', roles: new Set(['admin']), topics: null, tenants });
    expect(revokesAsAdmin(admin(null), delegation)).toBe(true);
    expect(revokesAsAdmin(admin(['acme']), delegation)).toBe(true);
    expect(revokesAsAdmin(admin(['globex']), delegation)).toBe(false);
    expect(revokesAsAdmin(alice, delegation)).toBe(false);
    expect(revokeDelegationCommand(admin(['acme']), delegation, { reason: 'left' }, metadata).data).toEqual({ delegation_id: 'd-1', revoked_by: 'root', as_admin: true, reason: 'left' });
  });
});
