import fs from 'node:fs';
import path from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, grpcStatusFor, GRPC_STATUS, SignoffError } from './errors';
import { fromJobStreamId, JOB_EVENT_TYPES, JOB_STATES, toJobStreamId } from './events';
import { isValidJobRef, normalizeIdentity, sameIdentity } from './ids';
import { ApproveDto, RejectDto, ResolveJobDto } from './http-bodies';
import { JobResultMessageDto, SubmitJobDto } from './messages/index';
import { validateMessage } from './validation';
import { PROTO_PATH } from './proto-path';
import { dlqOf, signoffTopics } from './topics';

describe('contracts', () => {
  it('names the topics of DESIGN section 6 from one prefix', () => {
    expect(signoffTopics()).toEqual({
      requested: 'signoff.jobs.requested',
      requestedDlq: 'signoff.jobs.requested.dlq',
      evaluated: 'signoff.jobs.evaluated',
      evaluatedDlq: 'signoff.jobs.evaluated.dlq',
      approved: 'signoff.jobs.approved',
      approvedDlq: 'signoff.jobs.approved.dlq',
      dispatch: 'signoff.jobs.dispatch',
      dispatchDlq: 'signoff.jobs.dispatch.dlq',
      results: 'signoff.jobs.results',
      resultsDlq: 'signoff.jobs.results.dlq',
      audit: 'signoff.audit',
    });
    expect(signoffTopics('acme.').dispatch).toBe('acme.jobs.dispatch');
    expect(dlqOf('acme.jobs.results')).toBe('acme.jobs.results.dlq');
  });

  it('makes job stream ids in one place and reads them back: job-<id> for the default tenant, job-<tenant>|<id> otherwise', () => {
    expect(toJobStreamId({ tenant: 'default', jobId: 'abc' })).toBe('job-abc');
    expect(toJobStreamId({ tenant: 'acme', jobId: 'abc' })).toBe('job-acme|abc');
    expect(fromJobStreamId('job-abc')).toEqual({ tenant: 'default', jobId: 'abc' });
    expect(fromJobStreamId('job-acme|abc')).toEqual({ tenant: 'acme', jobId: 'abc' });
    expect(fromJobStreamId('policy')).toBeNull();
    expect(JOB_EVENT_TYPES).toContain('ApprovalGranted');
  });

  it('an unknown outcome: state UNKNOWN, events JobOutcomeUnknown and JobOutcomeResolved, result status unknown, resolve body, 409 not_ambiguous', () => {
    expect(JOB_STATES).toContain('UNKNOWN');
    expect(JOB_EVENT_TYPES).toEqual(expect.arrayContaining(['JobOutcomeUnknown', 'JobOutcomeResolved']));
    const report = { job_id: 'j', idempotency_key: 'j:dispatch', attempt: 1, status: 'unknown', error: 'lease lost after the effect began', fencing_token: 2, worker: 'w2' };
    expect(validateMessage(JobResultMessageDto, report)).toMatchObject({ ok: true, value: report });
    expect(validateMessage(JobResultMessageDto, { ...report, fencing_token: 0 }).ok).toBe(false);
    expect(validateMessage(ResolveJobDto, { outcome: 'succeeded', reason: 'checked downstream' }).ok).toBe(true);
    expect(validateMessage(ResolveJobDto, { outcome: 'unknown', reason: 'x' }).ok).toBe(false);
    expect(validateMessage(ResolveJobDto, { outcome: 'failed' }).ok).toBe(false);
    expect(ERROR_CODES.not_ambiguous).toBe(409);
  });

  it('job stream ids round-trip for every valid ref, and two refs never share a stream', () => {
    const ids = ['a', 'job-1', 'default', 'acme', 'x:y@z/w', 'a.b-c_d', '0'.repeat(200), 'job-acme', 'default-x'];
    const seen = new Map<string, string>();
    for (const tenant of ids) {
      for (const jobId of ids) {
        const stream = toJobStreamId({ tenant, jobId });
        expect(fromJobStreamId(stream)).toEqual({ tenant, jobId });
        const key = `${tenant} ${jobId}`;
        expect(seen.get(stream) ?? key).toBe(key);
        seen.set(stream, key);
      }
    }
    expect(isValidJobRef({ tenant: 'a|b', jobId: 'c' })).toBe(false);
  });

  it('refuses hostile and non-canonical stream ids instead of guessing a job', () => {
    for (const hostile of [
      'job-',
      'job-|x',
      'job-acme|',
      'job-acme|x|y',
      'job-default|x', // the default tenant is always spelled job-<id>
      'job-a b',
      'job-acme|a\u0000b',
      'job-acme|\ud800',
      'job-\n',
      'job-acme|../x',
      `job-${'a'.repeat(201)}`,
      'JOB-x',
      'jobs-x',
      '',
    ]) {
      const parsed = fromJobStreamId(hostile);
      if (parsed !== null) expect(toJobStreamId(parsed)).toBe(hostile);
    }
    expect(fromJobStreamId('job-default|x')).toBeNull();
    expect(fromJobStreamId('job-acme|x|y')).toBeNull();
    expect(fromJobStreamId('job-acme|')).toBeNull();
    expect(fromJobStreamId('job-|x')).toBeNull();
    expect(fromJobStreamId('job-a\u0000b')).toBeNull();
  });

  it('normalises identities: NFKC, default-ignorables removed, case-folded', () => {
    expect(normalizeIdentity('Agent-X')).toBe('agent-x');
    expect(sameIdentity('Agent-X', 'agent-x')).toBe(true);
    expect(sameIdentity('ａｇｅｎｔ－ｘ', 'agent-x')).toBe(true); // fullwidth forms (NFKC)
    expect(sameIdentity('agent\u200b-x', 'agent-x')).toBe(true); // zero-width space
    expect(sameIdentity('Stra\u00dfe', 'STRASSE')).toBe(true); // sharp s folds to ss
    expect(sameIdentity('\u212bngstr\u00f6m', '\u00c5NGSTR\u00d6M')).toBe(true); // Angstrom sign, precomposed letters
    expect(sameIdentity('o\u0308', '\u00f6')).toBe(true); // combining vs precomposed
    expect(sameIdentity('ΟΔΟΣ', 'οδος')).toBe(true);
    expect(sameIdentity('alice', 'bob')).toBe(false);
    expect(sameIdentity('alice', 'alice2')).toBe(false);
  });

  it('maps error codes to the HTTP and gRPC statuses of DESIGN sections 4 and 5', () => {
    expect(ERROR_CODES.snapshot_changed).toBe(409);
    expect(ERROR_CODES.throttled).toBe(429);
    expect(ERROR_CODES.busy).toBe(503);
    expect(grpcStatusFor('snapshot_changed')).toBe(GRPC_STATUS.FAILED_PRECONDITION);
    expect(grpcStatusFor('not_found')).toBe(GRPC_STATUS.NOT_FOUND);
    expect(grpcStatusFor('unauthenticated')).toBe(GRPC_STATUS.UNAUTHENTICATED);
    expect(grpcStatusFor('forbidden')).toBe(GRPC_STATUS.PERMISSION_DENIED);
    expect(grpcStatusFor('busy')).toBe(GRPC_STATUS.UNAVAILABLE);
    expect(grpcStatusFor('invalid_request')).toBe(GRPC_STATUS.INVALID_ARGUMENT);
    // Framework refusals keep their HTTP status and have a code of their own.
    expect([ERROR_CODES.headers_too_large, ERROR_CODES.uri_too_long, ERROR_CODES.unsupported_media_type, ERROR_CODES.request_timeout]).toEqual([431, 414, 415, 408]);
    expect(grpcStatusFor('headers_too_large')).toBe(GRPC_STATUS.INVALID_ARGUMENT);
    const problem = new SignoffError('snapshot_changed', 'policy changed', { expected: 'a', current: 'b' }).toProblem('/api/v1/approvals/j/approve');
    expect(problem).toMatchObject({ status: 409, code: 'snapshot_changed', expected: 'a', current: 'b', instance: '/api/v1/approvals/j/approve' });
  });

  it('validates a job submission with per-field errors and refuses unknown members', () => {
    expect(validateMessage(SubmitJobDto, { topic: 'finance.payment.execute', priority: 'high' }).ok).toBe(true);
    const bad = validateMessage(SubmitJobDto, { topic: 42, labels: 'x', extra: true });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      const fields = bad.errors.map((e) => e.field);
      expect(fields).toContain('topic');
      expect(fields).toContain('labels');
      expect(fields).toContain('extra');
    }
    expect(validateMessage(SubmitJobDto, [1, 2]).ok).toBe(false);
    expect(validateMessage(SubmitJobDto, null).ok).toBe(false);
    expect(validateMessage(RejectDto, {}).ok).toBe(false);
    expect(validateMessage(ApproveDto, { policy_snapshot: 'sha256:nothex' }).ok).toBe(false);
  });

  it('refuses prototype keys and hostile nesting without crashing or polluting prototypes', () => {
    const proto = validateMessage(SubmitJobDto, JSON.parse('{"topic":"knowledge.read","__proto__":{"admin":true}}'));
    expect(proto.ok).toBe(false);
    if (!proto.ok) expect(proto.errors.map((e) => e.field)).toContain('__proto__');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const labels = validateMessage(SubmitJobDto, JSON.parse('{"topic":"knowledge.read","labels":{"__proto__":"x","constructor":"y"}}'));
    expect(labels.ok).toBe(true);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const nested = validateMessage(SubmitJobDto, { topic: 'knowledge.read', payload: deep });
    expect(nested.ok).toBe(false);
  });

  it('ships the signoff.v1 proto with the Approvals service', () => {
    const proto = fs.readFileSync(PROTO_PATH, 'utf8');
    expect(proto).toMatch(/package signoff\.v1;/);
    for (const rpc of ['ListApprovals', 'GetApproval', 'Approve', 'Reject', 'WatchApprovals']) expect(proto).toContain(`rpc ${rpc}(`);
    const definition = loadSync(PROTO_PATH, { keepCase: true });
    const service = definition['signoff.v1.Approvals'] as Record<string, { responseStream: boolean }>;
    expect(Object.keys(service).sort()).toEqual(['Approve', 'GetApproval', 'ListApprovals', 'Reject', 'WatchApprovals']);
    expect(service.WatchApprovals.responseStream).toBe(true);
  });

  it('keeps the proto in one place, where DESIGN section 5 names it (libs/contracts/src/proto)', () => {
    const root = path.resolve(__dirname, '../../..');
    expect(path.relative(root, PROTO_PATH)).toBe(path.join('libs', 'contracts', 'src', 'proto', 'signoff.v1.proto'));
    const protos: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', '.git', '.signoff', 'dist'].includes(entry.name)) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.proto')) protos.push(path.relative(root, full));
      }
    };
    for (const top of ['apps', 'libs', 'deploy', 'tools', 'test']) walk(path.join(root, top));
    expect(protos).toEqual([path.relative(root, PROTO_PATH)]);
  });
});
