import { describe, expect, it } from 'vitest';
import { argsHash, argumentsProblem, MAX_ARGUMENTS_BYTES } from './tool-arguments';

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

describe('tool arguments', () => {
  it('hashes canonical JSON: key order and whitespace do not matter, any value does', () => {
    expect(argsHash({ a: 1, b: { c: [1, 2] } })).toBe(argsHash(JSON.parse('{ "b": {"c":[1,2]}, "a": 1 }')));
    expect(argsHash({ a: 1 })).not.toBe(argsHash({ a: 2 }));
    expect(argsHash(undefined)).toBe(argsHash({}));
    expect(argsHash({ a: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('accepts an object, or nothing', () => {
    expect(argumentsProblem({ amount: 5, to: 'bob' })).toBeNull();
    expect(argumentsProblem(undefined)).toBeNull();
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', 'x'],
    ['null', null],
  ])('refuses %s', (_what, value) => {
    expect(argumentsProblem(value)).toEqual({ code: 'invalid_arguments', message: 'arguments must be an object' });
  });

  it('refuses NUL characters and lone surrogates in values and keys, naming where', () => {
    expect(argumentsProblem({ a: 'x\u0000y' })?.message).toContain('arguments.a');
    expect(argumentsProblem({ ['k\u0000']: 1 })?.code).toBe('invalid_arguments');
    expect(argumentsProblem({ a: ['ok', '\ud800'] })?.message).toContain('arguments.a[1]');
  });

  it('refuses non-finite numbers', () => {
    expect(argumentsProblem({ a: Infinity })?.code).toBe('invalid_arguments');
  });

  it('refuses deep JSON before walking it recursively (100,000 levels: no stack overflow)', () => {
    expect(argumentsProblem({ a: nested(31) })).toBeNull();
    expect(argumentsProblem(nested(33))?.message).toContain('deeper than 32');
    const deep = JSON.parse('{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}');
    expect(argumentsProblem(deep)?.code).toBe('invalid_arguments');
  });

  it('refuses more than 1 MB of arguments', () => {
    expect(argumentsProblem({ blob: 'x'.repeat(MAX_ARGUMENTS_BYTES) })?.code).toBe('arguments_too_large');
    expect(argumentsProblem({ blob: 'x'.repeat(MAX_ARGUMENTS_BYTES - 20) })).toBeNull();
  });
});
