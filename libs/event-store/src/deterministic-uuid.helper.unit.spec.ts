import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIGNOFF_UUID_NAMESPACE, deterministicUuid, isUuid } from './deterministic-uuid.helper';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

describe('deterministicUuid (RFC 9562 version 5)', () => {
  it('matches the reference implementation', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org')
    expect(deterministicUuid('python.org', DNS_NAMESPACE)).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(SIGNOFF_UUID_NAMESPACE).toBe(deterministicUuid('https://signoff.dev/event-id', URL_NAMESPACE));
  });

  it('is stable for a name and different for other names or namespaces', () => {
    const id = deterministicUuid('cmd-1/ApprovalGranted');
    expect(deterministicUuid('cmd-1/ApprovalGranted')).toBe(id);
    expect(deterministicUuid('cmd-1/ApprovalGranted', SIGNOFF_UUID_NAMESPACE)).toBe(id);
    expect(deterministicUuid('cmd-2/ApprovalGranted')).not.toBe(id);
    expect(deterministicUuid('cmd-1/ApprovalGranted', DNS_NAMESPACE)).not.toBe(id);
  });

  it('always gives a lower-case version 5, RFC-variant UUID', () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const id = deterministicUuid(name);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(isUuid(id)).toBe(true);
      }),
    );
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => deterministicUuid('x', 'signoff')).toThrow(/namespace must be a UUID/);
  });
});

describe('isUuid', () => {
  it('accepts canonical UUIDs of any case and nothing else', () => {
    expect(isUuid('886313E1-3B8A-5372-9B90-0C9AEE199E5D')).toBe(true);
    expect(isUuid('886313e13b8a53729b900c9aee199e5d')).toBe(false);
    expect(isUuid('{886313e1-3b8a-5372-9b90-0c9aee199e5d}')).toBe(false);
    expect(isUuid(42)).toBe(false);
  });
});
