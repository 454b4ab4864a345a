import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isReservedLabel, nameComparisonKey } from './labels';
import { ApproveDto, RejectDto } from './http-bodies';
import { JobResultMessageDto, SubmitJobDto } from './messages/index';
import { validateMessage } from './validation';
import { escapeUnsafeText, findUnsafeValues, isSafeIdentity, isStorableText, MAX_REPORTED_UNSAFE_VALUES } from './text-safety';

const fields = (result: ReturnType<typeof validateMessage>) => (result.ok ? [] : result.errors.map((e) => e.field));

describe('storable text', () => {
  it('refuses NUL and lone surrogates, accepts paired surrogates and other controls', () => {
    expect(isStorableText('plain, ünïcödé, 😀')).toBe(true);
    expect(isStorableText('tab\tand\nnewline')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('\ud800')).toBe(false);
    expect(isStorableText('x\udc00')).toBe(false);
    expect(isStorableText('\ud83d\ude00\ud83d')).toBe(false);
  });

  it('names every unsafe string, key and non-finite number by its path, at any depth', () => {
    const value = JSON.parse('{"payload":{"a":{"b":"x\\u0000y"},"k\\u0000":1,"list":[1,"\\ud800",1e400],"n":-1e999},"labels":{"env":"\\udfff"}}') as unknown;
    const found = findUnsafeValues(value).map((f) => f.field);
    expect(found.sort()).toEqual(['labels.env', 'payload.a.b', 'payload.k\\u0000', 'payload.list[1]', 'payload.list[2]', 'payload.n'].sort());
  });

  it('spells paths through arrays and under a root prefix', () => {
    expect(findUnsafeValues({ a: [{ b: ['x', '\u0000'] }] }, 'payload').map((f) => f.field)).toEqual(['payload.a[0].b[1]']);
    expect(findUnsafeValues([['\ud800']]).map((f) => f.field)).toEqual(['[0][0]']);
    expect(findUnsafeValues('\u0000', 'reason').map((f) => f.field)).toEqual(['reason']);
    expect(findUnsafeValues({ 'a\u0000': { b: Infinity } }).map((f) => f.field).sort()).toEqual(['a\\u0000', 'a\\u0000.b']);
  });

  it('reports at most MAX_REPORTED_UNSAFE_VALUES findings', () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, '\u0000']));
    expect(findUnsafeValues(many)).toHaveLength(MAX_REPORTED_UNSAFE_VALUES);
  });

  it('finds nothing in printable JSON, and finds exactly the unstorable strings of any JSON (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => findUnsafeValues(v).length === 0));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), { maxKeys: 5 }), (d) => {
        const expected = Object.entries(d).filter(([k, v]) => !isStorableText(k) || !isStorableText(v)).length;
        const reported = new Set(findUnsafeValues(d).map((f) => f.field)).size;
        return reported === expected;
      }),
    );
    // Generous: 200 generated documents take well under a second, but CI machines may be loaded.
  }, 30_000);
});

describe('validateMessage checks text on every DTO and free-form member', () => {
  it('a NUL byte or lone surrogate anywhere is a field error naming it', () => {
    const submit = JSON.parse('{"topic":"t","priority":"hi\\u0000","labels":{"env":"\\u0000"},"payload":{"a":{"b":"\\ud800"}}}') as unknown;
    expect(fields(validateMessage(SubmitJobDto, submit))).toEqual(expect.arrayContaining(['priority', 'labels.env', 'payload.a.b']));
    expect(fields(validateMessage(ApproveDto, { reason: 'ok\u0000' }))).toEqual(['reason']);
    expect(fields(validateMessage(RejectDto, { reason: '\udc00' }))).toEqual(['reason']);
    expect(fields(validateMessage(JobResultMessageDto, { job_id: 'j', idempotency_key: 'k', attempt: 1, status: 'succeeded', result: { out: 'a\u0000' } }))).toEqual(['result.out']);
  });

  it('a number JSON.parse made Infinity (1e400) is a field error, not a crash later', () => {
    const body = JSON.parse('{"topic":"t","payload":{"n":1e400,"m":[-1e999]}}') as unknown;
    expect(fields(validateMessage(SubmitJobDto, body)).sort()).toEqual(['payload.m[0]', 'payload.n']);
    expect(validateMessage(SubmitJobDto, JSON.parse(`{"topic":"t","payload":{"n":${'9'.repeat(300)}}}`)).ok).toBe(true);
    expect(validateMessage(SubmitJobDto, JSON.parse(`{"topic":"t","payload":{"n":${'9'.repeat(400)}}}`)).ok).toBe(false);
  });

  it('an unknown member whose name holds a NUL is reported with the name escaped', () => {
    const result = validateMessage(ApproveDto, { 'x\u0000': 1 });
    expect(fields(result).every((f) => !f.includes('\u0000'))).toBe(true);
    expect(fields(result)).toContain('x\\u0000');
  });
});

describe('the identity-safety predicate', () => {
  it('accepts ordinary names, refuses control, separator, bidi and lone surrogate characters', () => {
    for (const ok of ['alice', 'agent-7', 'Jürgen Groß', 'svc:billing@acme', '用户', 'a b', 'emoji😀']) expect(isSafeIdentity(ok), ok).toBe(true);
    const bad = ['', 'a\nb', 'a\u000fb', 'a\u0000', 'del\u007f', 'c1\u0085', 'c1\u009b', 'ls\u2028', 'ps\u2029', 'rlo\u202e', 'lre\u202a', 'lri\u2066', 'pdi\u2069', 'rlm\u200f', 'alm\u061c', '\ud800', 'x\udc00'];
    for (const b of bad) expect(isSafeIdentity(b), JSON.stringify(b)).toBe(false);
    expect(isSafeIdentity(42)).toBe(false);
  });

  it('escapes what it refuses, and leaves safe strings alone', () => {
    expect(escapeUnsafeText('mallory\n\u202e')).toBe('mallory\\u000a\\u202e');
    expect(escapeUnsafeText('Jürgen')).toBe('Jürgen');
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => isSafeIdentity(escapeUnsafeText(s)) || s === ''));
  });

  it('is applied to Kafka submitted_by and the results message worker', () => {
    expect(fields(validateMessage(SubmitJobDto, { topic: 't', submitted_by: 'agent\n' }))).toEqual(['submitted_by']);
    expect(fields(validateMessage(JobResultMessageDto, { job_id: 'j', idempotency_key: 'k', attempt: 1, status: 'started', worker: 'w\u000f' }))).toEqual(['worker']);
    expect(validateMessage(JobResultMessageDto, { job_id: 'j', idempotency_key: 'k', attempt: 1, status: 'started', worker: 'worker-1' }).ok).toBe(true);
  });
});

describe('reserved label names', () => {
  it('are reserved whatever the case or Unicode compatibility form', () => {
    const reserved = [
      'approval_granted',
      'Approval_granted',
      'APPROVAL_X',
      'signoff.x',
      'SIGNOFF.x',
      'SignOff.approved',
      '\uff41\uff50\uff50\uff52\uff4f\uff56\uff41\uff4c_x', // full-width "approval"
      'approval\uff3fx', // full-width low line
      'signoff\uff0ex', // full-width full stop
      'ſignoff.x', // long s
      'appro\u200bval_x', // zero-width space
      'APPROVAL\u00ad_x', // soft hyphen
    ];
    for (const name of reserved) expect(isReservedLabel(name), JSON.stringify(name)).toBe(true);
    for (const name of ['env', 'approval', 'approvals', 'my_approval_x', 'signoff', 'signoffx', 'sign.off']) expect(isReservedLabel(name), name).toBe(false);
  });

  it('compare by one key: NFKC, ignorables removed, case folded', () => {
    expect(nameComparisonKey('ＳＩＧＮＯＦＦ.X')).toBe('signoff.x');
    expect(nameComparisonKey('Straße')).toBe(nameComparisonKey('STRASSE'));
  });
});
