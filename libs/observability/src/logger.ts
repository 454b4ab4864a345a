import { LoggerService } from '@nestjs/common';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const NOISY_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line on stdout (`{"level","time","service","context","msg",...}`), the
 * format log pipelines ingest without parsing rules. Also serves as Nest's logger.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly minLevel: LogLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  /** Writes one structured line. */
  emit(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    this.write(JSON.stringify({ level, time: new Date().toISOString(), service: this.service, msg, ...fields }));
  }

  log(message: unknown, context?: string): void {
    // Nest's start-up chatter (modules initialised, routes mapped) is debug detail, not news.
    const level = context && NOISY_CONTEXTS.has(context) ? 'debug' : 'info';
    this.emit(level, String(message), context ? { context } : {});
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.emit('error', message instanceof Error ? message.message : String(message), { ...(context ? { context } : {}), ...(trace ? { trace } : {}) });
  }
  warn(message: unknown, context?: string): void {
    this.emit('warn', String(message), context ? { context } : {});
  }
  debug(message: unknown, context?: string): void {
    this.emit('debug', String(message), context ? { context } : {});
  }
  verbose(message: unknown, context?: string): void {
    this.emit('debug', String(message), context ? { context } : {});
  }
}
