import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/** The largest console form (a reason of 2,000 characters, percent-encoded, and the hidden fields). */
export const MAX_FORM_BYTES = 32 * 1024;

/**
 * Parses `application/x-www-form-urlencoded` (the console's HTML forms) into a plain object of
 * strings, the first value of each name winning; bounded (413 past MAX_FORM_BYTES). Only the
 * console's routes read such bodies; the API's DTO validation refuses what it does not expect.
 */
@Injectable()
export class ConsoleFormParser implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || typeof fastify.addContentTypeParser !== 'function' || fastify.hasContentTypeParser('application/x-www-form-urlencoded')) return;
    fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_request, body, done) => {
      done(null, parseForm(body as string));
    });
  }
}

/** `a=1&b=2` -> `{a: '1', b: '2'}` (null prototype, first value wins, at most 50 fields). */
export function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  let n = 0;
  for (const [name, value] of new URLSearchParams(body)) {
    if (++n > 50) break;
    if (!(name in out)) out[name] = value;
  }
  return out;
}
