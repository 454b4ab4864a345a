import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { clientErrorProblem } from './framework-errors';
import { toSignoffError } from './problem.filter';

describe('toSignoffError', () => {
  it('keeps a SignoffError and never echoes an unexpected error', () => {
    const own = new SignoffError('busy', 'retry');
    expect(toSignoffError(own)).toBe(own);
    const leaked = toSignoffError(new Error('relation "events" does not exist (SQLSTATE 42P01)'));
    expect(leaked).toMatchObject({ code: 'internal', status: 500, message: 'internal error' });
  });

  it('gives framework refusals their status and a code of their own', () => {
    const framework = (statusCode: number) => toSignoffError(Object.assign(new Error('framework text'), { statusCode }));
    expect(framework(408)).toMatchObject({ code: 'request_timeout', status: 408 });
    expect(framework(413)).toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(framework(414)).toMatchObject({ code: 'uri_too_long', status: 414 });
    expect(framework(415)).toMatchObject({ code: 'unsupported_media_type', status: 415 });
    expect(framework(431)).toMatchObject({ code: 'headers_too_large', status: 431 });
    expect(framework(405)).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(framework(502)).toMatchObject({ code: 'internal', message: 'internal error' });
  });

  it('maps the HTTP parser refusals of clientError', () => {
    expect(clientErrorProblem('HPE_HEADER_OVERFLOW')).toMatchObject({ code: 'headers_too_large', status: 431 });
    expect(clientErrorProblem('ERR_HTTP_REQUEST_TIMEOUT')).toMatchObject({ code: 'request_timeout', status: 408 });
    expect(clientErrorProblem('HPE_INVALID_METHOD')).toMatchObject({ code: 'invalid_request', status: 400 });
  });
});
