import { describe, expect, it } from 'vitest';
import { EVENT_ID_NAMESPACE, eventIdFor, identifyEvents } from './event-id';
import { cmd, given, history } from './testing/job.test-kit';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('eventIdFor', () => {
  it('is the v5 UUID of "<commandId>/<index>" in the Signoff namespace (pinned vectors)', () => {
    // Python: uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, 'https://signoff.dev/event-id'), 'cmd-1/0')
    expect(EVENT_ID_NAMESPACE).toBe('0a5bf68d-94a0-5e5b-861d-eb5c50b6d0db');
    expect(eventIdFor('cmd-1', 0)).toBe('5989cf74-445d-5a8d-aec9-c6e86f7f6866');
    expect(eventIdFor('cmd-1', 1)).toBe('9fdffbb1-f4a0-5489-9cd3-bc5e470a44e3');
  });

  it('is deterministic, well formed, and distinct per command and index', () => {
    const ids = new Set<string>();
    for (const command of ['a', 'b', 'a/1', '7f1c-…-unicode ✓']) {
      for (let i = 0; i < 5; i++) {
        const id = eventIdFor(command, i);
        expect(id).toMatch(UUID_V5);
        expect(eventIdFor(command, i)).toBe(id);
        ids.add(id);
      }
    }
    expect(ids.size).toBe(20);
  });

  it.each([-1, 1.5, Number.NaN])('refuses index %s', (index) => {
    expect(() => eventIdFor('c', index)).toThrow(RangeError);
  });
});

describe('identifyEvents', () => {
  it('adds each decided event its id, the same on a retry of the same command', () => {
    const decided = given(history.awaiting()).when(cmd.approve({ commandId: 'cmd-77' })).events;
    const first = identifyEvents('cmd-77', decided);
    expect(first.map(({ id: _id, ...event }) => event)).toEqual(decided);
    expect(first.map((x) => x.id)).toEqual([eventIdFor('cmd-77', 0), eventIdFor('cmd-77', 1)]);
    const retry = given(history.awaiting()).when(cmd.approve({ commandId: 'cmd-77' })).events;
    expect(identifyEvents('cmd-77', retry)).toEqual(first);
  });
});
