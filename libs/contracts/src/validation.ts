import 'reflect-metadata';
import { ValidateBy, ValidationOptions, validateSync, ValidationError } from 'class-validator';
import { escapeUnsafeText, findUnsafeValues, isSafeIdentity } from './text-safety';

import { ID_PATTERN } from './ids';
import { memoizeValidationMetadata } from './validation-metadata.cache';

memoizeValidationMetadata();

export { ID_PATTERN };
export const TOPIC_PATTERN = /^[a-z0-9][a-z0-9._\-]{0,199}$/i;

/** An identity (submitter, worker): `isSafeIdentity`, no control, bidi or lone surrogate characters. */
export function IsSafeIdentity(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSafeIdentity',
      validator: {
        validate: (value: unknown) => isSafeIdentity(value),
        defaultMessage: (args) => `${args?.property ?? 'identity'} must be a non-empty name without control characters, line separators, bidi controls or unpaired surrogates`,
      },
    },
    options,
  );
}

/** One field error of a 400 `invalid_request`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

type Ctor<T> = new () => T;

/** Untrusted values nesting deeper than this are refused before anything walks them recursively. */
export const MAX_MESSAGE_DEPTH = 64;

/** Nested DTO members that must be class instances for `@ValidateNested` (class -> member -> class). */
const NESTED = new Map<Ctor<object>, Readonly<Record<string, Ctor<object>>>>();

/**
 * Declares the members of a DTO that `@ValidateNested` checks against a DTO class of their own
 * (e.g. the dispatch message's `approval` block): `validateMessage` makes those members instances
 * of that class. Called once, next to the DTO it describes.
 */
export function declareNestedMembers<T extends object>(cls: Ctor<T>, members: Readonly<Partial<Record<keyof T & string, Ctor<object>>>>): void {
  NESTED.set(cls as Ctor<object>, members as Record<string, Ctor<object>>);
}

/**
 * A DTO instance holding the value's own members as own data properties. Unlike
 * class-transformer's `plainToInstance`, it neither recurses into free-form members (a hostile
 * payload cannot exhaust the stack) nor trips over `__proto__`/`constructor` keys (which stay
 * plain data, never a prototype).
 */
function toInstance<T extends object>(cls: Ctor<T>, value: Record<string, unknown>): T {
  const instance = new cls() as T & Record<string, unknown>;
  const nested = NESTED.get(cls as Ctor<object>) ?? {};
  for (const key of Object.keys(value)) {
    let member = value[key];
    const nestedCls = Object.prototype.hasOwnProperty.call(nested, key) ? nested[key] : undefined;
    if (nestedCls && member !== null && typeof member === 'object' && !Array.isArray(member)) {
      member = toInstance(nestedCls, member as Record<string, unknown>);
    }
    Object.defineProperty(instance, key, { value: member, enumerable: true, writable: true, configurable: true });
  }
  return instance;
}

/** True when `value` nests deeper than `max` (iterative, so it is safe on any input). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Validates an untrusted plain value against a DTO class. Unknown members are refused
 * (`forbidNonWhitelisted`), so a typo is an error, not a silently ignored field. Every string and
 * object key at any depth, free-form members (`payload`, `labels`, `result`) included, must be
 * storable text, and every number finite (`findUnsafeValues`): a NUL character, a lone surrogate
 * or `1e400` is the sender's error, named by its path (`payload.a.b`), never a store failure.
 */
export function validateMessage<T extends object>(
  cls: Ctor<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; errors: FieldError[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [{ field: '', message: 'body must be a JSON object' }] };
  }
  if (nestsDeeperThan(value, MAX_MESSAGE_DEPTH)) {
    return { ok: false, errors: [{ field: '', message: `the message nests deeper than ${MAX_MESSAGE_DEPTH} levels` }] };
  }
  // An own `constructor` member would stand in for the class when class-validator looks up its
  // rules (it asks by `object.constructor`): refused by name, before anything is looked up.
  if (Object.prototype.hasOwnProperty.call(value, 'constructor')) {
    return { ok: false, errors: [{ field: 'constructor', message: 'property constructor should not exist' }] };
  }
  const instance = toInstance(cls, value as Record<string, unknown>);
  const errors: FieldError[] = findUnsafeValues(value);
  errors.push(...flattenErrors(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true })));
  // class-validator's whitelist does not see an own `__proto__` member (JSON.parse makes one).
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) errors.push({ field: '__proto__', message: 'property __proto__ should not exist' });
  return errors.length === 0 ? { ok: true, value: instance } : { ok: false, errors };
}

function flattenErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const property = escapeUnsafeText(error.property);
    const field = parent ? `${parent}.${property}` : property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ field, message });
    if (error.children?.length) out.push(...flattenErrors(error.children, field));
  }
  return out;
}
