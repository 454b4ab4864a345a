import { describe, expect, it } from 'vitest';
import { mapTools, sanitizeToolName, serverOfExposedName, showName } from './tool-mapping';

describe('tool names -> topics and exposed names', () => {
  it('maps SEP-986 names unchanged: mcp.<server>.<tool>, exposed <server>__<tool>', () => {
    const { tools, refused } = mapTools('files', ['read_file', 'list-dir', 'v2.search', 'Get']);
    expect(refused).toEqual([]);
    expect(tools).toEqual([
      { server: 'files', tool: 'read_file', name: 'files__read_file', topic: 'mcp.files.read_file' },
      { server: 'files', tool: 'list-dir', name: 'files__list-dir', topic: 'mcp.files.list-dir' },
      { server: 'files', tool: 'v2.search', name: 'files__v2.search', topic: 'mcp.files.v2.search' },
      { server: 'files', tool: 'Get', name: 'files__Get', topic: 'mcp.files.Get' },
    ]);
  });

  it('sanitizes printable ASCII outside SEP-986 to _, and calls the upstream by its real name', () => {
    expect(sanitizeToolName('path/to:tool')).toBe('path_to_tool');
    expect(sanitizeToolName('say hello')).toBe('say_hello');
    const { tools } = mapTools('s', ['path/to:tool']);
    expect(tools).toEqual([{ server: 's', tool: 'path/to:tool', name: 's__path_to_tool', topic: 'mcp.s.path_to_tool' }]);
  });

  it.each([
    ['NUL', 'bad\u0000name'],
    ['line separator', 'line\u2028break'],
    ['newline', 'a\nb'],
    ['non-ASCII look-alike', 'ech\u043e'],
    ['accented', 'caf\u00e9'],
    ['bidi control', 'abc\u202edef'],
    ['lone surrogate', 'x\ud800'],
    ['empty', ''],
    ['longer than 128', 'x'.repeat(129)],
    ['only punctuation', '///'],
  ])('refuses a hostile name (%s)', (_what, name) => {
    expect(sanitizeToolName(name)).toBeNull();
    const { tools, refused } = mapTools('s', [name, 'ok']);
    expect(tools.map((t) => t.tool)).toEqual(['ok']);
    expect(refused).toEqual([expect.objectContaining({ code: 'invalid_tool_name' })]);
    // What is logged is printable.
    expect(refused[0].tool).toMatch(/^[\x20-\x7e]*$/);
  });

  it('refuses every tool of a collision (case, sanitizing), so none borrows the policy of another', () => {
    const { tools, refused } = mapTools('s', ['dup_a', 'DUP_A', 'a/b', 'a_b', 'fine']);
    expect(tools.map((t) => t.tool)).toEqual(['fine']);
    expect(refused.map((r) => [r.tool, r.code])).toEqual([
      ['dup_a', 'tool_name_collision'],
      ['DUP_A', 'tool_name_collision'],
      ['a/b', 'tool_name_collision'],
      ['a_b', 'tool_name_collision'],
    ]);
  });

  it('refuses a name the upstream lists twice (the second)', () => {
    const { tools, refused } = mapTools('s', ['x', 'x']);
    expect(tools).toHaveLength(1);
    expect(refused).toEqual([expect.objectContaining({ code: 'tool_name_collision' })]);
  });

  it('takes the gateway file\'s topic for a tool, and refuses an invalid one', () => {
    const { tools, refused } = mapTools('pay', ['charge', 'refund'], { charge: 'finance.payment.execute', refund: 'bad topic!' });
    expect(tools).toEqual([{ server: 'pay', tool: 'charge', name: 'pay__charge', topic: 'finance.payment.execute' }]);
    expect(refused).toEqual([expect.objectContaining({ tool: 'refund', code: 'invalid_topic' })]);
  });

  it('does not read overrides off the prototype (a tool named constructor or __proto__)', () => {
    const { tools } = mapTools('s', ['constructor', '__proto__']);
    expect(tools.map((t) => t.topic)).toEqual(['mcp.s.constructor', 'mcp.s.__proto__']);
  });

  it('refuses a name whose exposed form is longer than 128 characters', () => {
    const server = 'a'.repeat(32);
    const { tools, refused } = mapTools(server, ['t'.repeat(95), 't'.repeat(94)]);
    expect(tools.map((t) => t.name.length)).toEqual([128]);
    expect(refused).toEqual([expect.objectContaining({ code: 'invalid_tool_name' })]);
  });

  it('finds the server of an exposed name', () => {
    expect(serverOfExposedName('files__read__x')).toBe('files');
    expect(serverOfExposedName('__x')).toBeNull();
    expect(serverOfExposedName('Files__x')).toBeNull();
    expect(serverOfExposedName('nosep')).toBeNull();
  });

  it('shows names escaped and bounded', () => {
    expect(showName('a\u0000b')).toBe('a\\u0000b');
    expect(showName('x'.repeat(300))).toHaveLength(201);
  });
});
