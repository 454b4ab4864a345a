import { SignoffError, validateMessage } from '@signoff/contracts';

/** Validates a request body against a DTO class; 400 `invalid_request` with per-field `errors`. */
export function validateBody<T extends object>(cls: new () => T, body: unknown, what: string): T {
  const result = validateMessage(cls, body === undefined || body === null ? {} : body);
  if (!result.ok) throw new SignoffError('invalid_request', `the ${what} is invalid`, { errors: result.errors });
  return result.value;
}
