import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SignoffError } from '@signoff/contracts';
import { toSignoffError } from './problem.filter';

/**
 * Refusals that happen before any Nest route, guard or filter runs, answered as problem+json with
 * a `code` like every other error (DESIGN section 4). The messages are fixed texts: nothing of the
 * request or of the parser's internals is echoed.
 */

/** The HTTP/1.1 parser refused the request (`clientError`): the error code of Node's parser -> problem. */
export function clientErrorProblem(code: string | undefined): SignoffError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new SignoffError('headers_too_large', 'the request line and header fields exceed the size limit');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SignoffError('request_timeout', 'the request was not received in time');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new SignoffError('payload_too_large', 'the chunk extensions exceed the size limit');
    default:
      return new SignoffError('invalid_request', 'the request is not valid HTTP/1.1');
  }
}

interface ParserSocket extends Duplex {
  /** The response in progress on this connection, if any (Node's own `clientError` handler checks it). */
  _httpMessage?: { _headerSent?: boolean } | null;
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the bytes (431 header fields too
 * large, a malformed request line, a timeout) before any routing. Writes a problem+json answer on
 * the raw socket, then closes it, as Node's default handler does with its bare text.
 */
export function onClientError(error: Error & { code?: string }, socket: ParserSocket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable && !socket._httpMessage?._headerSent) {
    const problem = clientErrorProblem(error.code);
    const body = JSON.stringify(problem.toProblem());
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}

/**
 * Fastify's `frameworkErrors`: the router refused the URL before any hook ran (an invalid
 * percent escape -> 400, a route parameter over `maxParamLength` -> 414). Replaces the Nest
 * adapter's default, which answers Fastify's own JSON shape.
 */
export function onFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const problem = error.code === 'FST_ERR_BAD_URL' ? new SignoffError('invalid_request', 'the request URL is malformed (an invalid percent escape?)') : toSignoffError(error);
  void reply.code(problem.status).header('Content-Type', 'application/problem+json').send(JSON.stringify(problem.toProblem()));
}
