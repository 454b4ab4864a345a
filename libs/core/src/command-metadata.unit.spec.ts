import { describe, expect, it } from 'vitest';
import { FixedClock } from './testing';
import { commandMetadata, newCommandId } from './command-metadata';

const clock = new FixedClock(new Date('2025-03-01T10:00:00.000Z'));

describe('commandMetadata', () => {
  it('correlates a command with itself by default and stamps the clock time', () => {
    expect(commandMetadata(clock, { actor: 'alice', commandId: 'c-1' })).toEqual({
      commandId: 'c-1',
      correlationId: 'c-1',
      actor: 'alice',
      now: '2025-03-01T10:00:00.000Z',
    });
  });

  it('keeps a given correlation and causation', () => {
    const metadata = commandMetadata(clock, { actor: 'dispatcher-1', commandId: 'c-2', correlationId: 'req-9', causationId: 'c-1' });
    expect(metadata).toEqual({ commandId: 'c-2', correlationId: 'req-9', causationId: 'c-1', actor: 'dispatcher-1', now: '2025-03-01T10:00:00.000Z' });
  });

  it('leaves causationId out when none is given (the events default it to the command id)', () => {
    expect(Object.keys(commandMetadata(clock, { actor: 'a', commandId: 'c' }))).not.toContain('causationId');
    expect(Object.keys(commandMetadata(clock, { actor: 'a', commandId: 'c', causationId: '' }))).not.toContain('causationId');
  });

  it('makes a fresh command id when none is given, and correlates with it', () => {
    const a = commandMetadata(clock, { actor: 'a' });
    const b = commandMetadata(clock, { actor: 'a' });
    expect(a.commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.commandId).not.toBe(b.commandId);
    expect(a.correlationId).toBe(a.commandId);
  });

  it('reads the clock at each call (a rebuilt command is stamped when it is decided)', () => {
    const moving = new FixedClock(new Date('2025-03-01T10:00:00.000Z'));
    const first = commandMetadata(moving, { actor: 'a', commandId: 'c' });
    moving.advance(1500);
    const second = commandMetadata(moving, { actor: 'a', commandId: 'c' });
    expect(first.now).toBe('2025-03-01T10:00:00.000Z');
    expect(second.now).toBe('2025-03-01T10:00:01.500Z');
    expect(second.commandId).toBe(first.commandId);
  });

  it('newCommandId makes distinct UUIDs', () => {
    expect(newCommandId()).not.toBe(newCommandId());
  });
});
