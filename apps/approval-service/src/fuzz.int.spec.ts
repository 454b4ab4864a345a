import { ServiceError, status as GrpcStatus } from '@grpc/grpc-js';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { TEST_JWT_SECRET } from '../../../test/support/app';
import { hostileJsonText, hostileString, hugeNumberText, KNOWN_CODES, objectText, SQL_TEXT } from '../../../test/support/hostile.arbitraries';
import { createTestDatabase } from '../../../test/support/infra';
import { problemOf } from './grpc/grpc-errors';
import { ApprovalTestApp, bearer, startApprovalApp } from './testing/approval-test.app';
import { approvalsClient, ApprovalsClient } from './testing/grpc.client';
import { submitJob } from './testing/job.fixture';
import { writePolicyFile } from './testing/test-policies';

/** Approve / reject bodies as raw JSON text: hostile reasons, hashes, extra members, huge numbers. */
const reviewBody = fc.oneof(
  fc
    .record({
      reason: fc.option(fc.oneof(hostileString.map((v) => JSON.stringify(v)), hugeNumberText, fc.constant('null')), { nil: undefined }),
      policy_snapshot: fc.option(fc.oneof(hostileString.map((v) => JSON.stringify(v)), fc.constant(`"sha256:${'a'.repeat(64)}"`)), { nil: undefined }),
      job_hash: fc.option(fc.oneof(hostileString.map((v) => JSON.stringify(v)), fc.constant(`"sha256:${'b'.repeat(64)}"`)), { nil: undefined }),
      extra: fc.option(hostileJsonText, { nil: undefined }),
    })
    .map((members) => objectText(members)),
  hostileJsonText,
  fc.string(),
  fc.constantFrom('{"reason":"\\u0000"}', '{"reason":"\\ud800"}', '{"reason":"ok","n":1e400}', '{"reason":1e400}', '{"__proto__":{"x":1}}', ''),
);

/** Job ids in the path: URL-encoded hostile strings, raw bad percent escapes, over-long ids. */
const pathJobId = fc.oneof(
  hostileString.map((s) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return '%ED%A0%80'; // a lone surrogate has no UTF-8 form; this is its CESU-8 spelling
    }
  }),
  fc.constantFrom('%00', 'a%00b', '%E0%A4%A', '%ED%A0%80', '%FF', 'x'.repeat(300), '..%2F..%2Fetc'),
);

async function grpcFailure(promise: Promise<unknown>): Promise<ServiceError | null> {
  return promise.then(
    () => null,
    (e: unknown) => e as ServiceError,
  );
}

async function tokenWithSubject(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ roles: ['reviewer'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode(TEST_JWT_SECRET));
  return `Bearer ${jwt}`;
}

describe('fuzzing the reviewer API: approve/reject bodies over HTTP, Approve/Reject over gRPC (real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let client: ApprovalsClient;
  let rita: string;
  /** A job awaiting two approvals: approves are recorded and it stays open for the next one. */
  const pendingJob = async () => (await submitJob(svc.app, { topic: 'finance.transfer.large' })).job_id;
  const history = async (jobId: string) => (await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: jobId }))).map((e) => e.type);

  beforeAll(async () => {
    db = await createTestDatabase('fuzzapproval');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), grpc: true });
    client = approvalsClient(svc.grpcAddress!);
    rita = await bearer('rita', ['reviewer']);
  });
  afterAll(async () => {
    client?.close();
    await svc?.close();
    await db?.drop();
  });

  const send = async (jobPath: string, action: 'approve' | 'reject', text: string, authorization = rita) => {
    const res = await fetch(`${svc.url}/api/v1/approvals/${jobPath}/${action}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: text,
    });
    const raw = await res.text();
    return { res, raw };
  };

  it('a NUL or lone surrogate in reason is 400 invalid_request naming reason, and nothing is appended', async () => {
    const jobId = await pendingJob();
    const before = await history(jobId);
    for (const [action, text] of [
      ['approve', '{"reason":"fine\\u0000"}'],
      ['approve', '{"reason":"\\ud800"}'],
      ['reject', '{"reason":"no\\u0000"}'],
      ['reject', '{"reason":"\\udfff"}'],
    ] as const) {
      const { res, raw } = await send(jobId, action, text);
      expect(res.status, `${action} ${text}`).toBe(400);
      expect(raw).not.toMatch(SQL_TEXT);
      const problem = JSON.parse(raw) as { code: string; errors: { field: string }[] };
      expect(problem.code).toBe('invalid_request');
      expect(problem.errors.map((e) => e.field)).toContain('reason');
    }
    expect(await history(jobId)).toEqual(before);
  });

  it('gRPC Approve/Reject with a NUL in reason is INVALID_ARGUMENT invalid_request, and nothing is appended', async () => {
    const jobId = await pendingJob();
    const before = await history(jobId);
    for (const method of ['Approve', 'Reject'] as const) {
      const error = await grpcFailure(client.call(method, { job_id: jobId, reason: 'x\u0000y' }, rita));
      expect(error?.code, method).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(error?.details).toBe('invalid_request');
      expect(JSON.stringify(problemOf(error?.metadata))).not.toMatch(SQL_TEXT);
    }
    expect(await history(jobId)).toEqual(before);
  });

  it('a reviewer token whose sub holds a control character is 401 / UNAUTHENTICATED', async () => {
    const jobId = await pendingJob();
    for (const sub of ['rita\nactor: admin', 'rita\u000f', 'rita\u202e']) {
      const authorization = await tokenWithSubject(sub);
      expect((await send(jobId, 'approve', '{}', authorization)).res.status).toBe(401);
      const error = await grpcFailure(client.call('Approve', { job_id: jobId }, authorization));
      expect(error?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    }
    expect(await history(jobId)).not.toContain('ApprovalVoteRecorded');
  });

  it('HTTP: any approve/reject body and job id: never a 5xx, never SQL text, every 4xx problem+json with a known code', async () => {
    // Mostly a fresh pending job, so the hostile body reaches the decider and the append.
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: pathJobId, weight: 1 }), fc.constantFrom('approve' as const, 'reject' as const), reviewBody, async (path, action, text) => {
        const jobPath = path ?? (await pendingJob());
        const { res, raw } = await send(jobPath, action, text);
        expect(res.status).toBeLessThan(500);
        expect(raw).not.toMatch(SQL_TEXT);
        if (res.status >= 400) {
          expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
          expect(KNOWN_CODES.has((JSON.parse(raw) as { code: string }).code)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gRPC: any Approve/Reject request: only OK or a 4xx-class status with a known code, never UNAVAILABLE/INTERNAL', async () => {
    const allowed = new Set([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND, GrpcStatus.PERMISSION_DENIED, GrpcStatus.FAILED_PRECONDITION]);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Approve' as const, 'Reject' as const),
        fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: hostileString, weight: 1 }),
        fc.oneof(hostileString, fc.constant('')),
        fc.oneof(fc.constant(''), hostileString, fc.constant(`sha256:${'c'.repeat(64)}`)),
        async (method, id, reason, snapshot) => {
          const jobId = id ?? (await pendingJob());
          const request = method === 'Approve' ? { job_id: jobId, reason, policy_snapshot: snapshot } : { job_id: jobId, reason };
          const error = await grpcFailure(client.call(method, request, rita));
          if (error === null) return;
          expect(allowed.has(error.code), `${error.code} ${error.details}`).toBe(true);
          expect(KNOWN_CODES.has(error.details)).toBe(true);
          expect(JSON.stringify(problemOf(error.metadata))).not.toMatch(SQL_TEXT);
        },
      ),
      { numRuns: 120 },
    );
  });
});
