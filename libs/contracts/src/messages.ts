import 'reflect-metadata';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
  ValidateBy,
  ValidationOptions,
  validateSync,
  ValidationError,
} from 'class-validator';
import { Type } from 'class-transformer';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { escapeUnsafeText, findUnsafeValues, isSafeIdentity } from './text-safety';

import { ID_PATTERN } from './ids';

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

/** Body of `POST /jobs` and value of `signoff.jobs.requested` (DESIGN sections 4 and 6). */
export class SubmitJobDto {
  @ApiPropertyOptional({ description: 'Client-chosen id (idempotency key of the submission); generated when absent', example: 'inv-2026-0042' })
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'job_id must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  job_id?: string;

  @ApiProperty({ description: 'What the job does; policies match on it', example: 'finance.payment.execute' })
  @IsString() @IsNotEmpty() @Matches(TOPIC_PATTERN, { message: 'topic must be 1-200 characters of letters, digits, . _ -' })
  topic!: string;

  @ApiPropertyOptional({ default: 'normal', example: 'high' })
  @IsOptional() @IsString() @MaxLength(32)
  priority?: string;

  @ApiPropertyOptional({ default: 'default', example: 'acme' })
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'tenant must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  tenant?: string;

  /** Free-form string labels; `approval_*` and `signoff.*` are reserved. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: 'String labels; names approval_* and signoff.* are reserved', example: { env: 'production' } })
  @IsOptional() @IsObject()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Any JSON value (at most 1 MiB, 32 levels deep)', example: { invoice: 'INV-42', amount: 1200 } })
  @IsOptional()
  payload?: unknown;

  /** Only on Kafka ingress: who submitted (HTTP takes the token's subject). */
  @ApiPropertyOptional({ description: 'Kafka ingress only; over HTTP the token subject is the submitter' })
  @IsOptional() @IsString() @MaxLength(200) @IsSafeIdentity()
  submitted_by?: string;
}

/** Body of `POST /approvals/:job_id/approve`. */
export class ApproveDto {
  @ApiPropertyOptional({ example: 'validated invoice and policy context' })
  @IsOptional() @IsString() @MaxLength(2000)
  reason?: string;

  @ApiPropertyOptional({ description: 'The snapshot the reviewer looked at; a difference is 409 stale_review' })
  @IsOptional() @IsString() @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'policy_snapshot must be sha256:<64 hex>' })
  policy_snapshot?: string;

  @ApiPropertyOptional({ description: 'The job hash the reviewer looked at; a difference is 409 stale_review' })
  @IsOptional() @IsString() @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'job_hash must be sha256:<64 hex>' })
  job_hash?: string;
}

/** Body of `POST /approvals/:job_id/reject`. */
export class RejectDto {
  @ApiProperty({ example: 'amount exceeds the invoice' })
  @IsString() @IsNotEmpty() @MaxLength(2000)
  reason!: string;
}

/** Body of `POST /jobs/:id/resolve` (admin): the operator's decision on a job whose outcome is UNKNOWN. */
export class ResolveJobDto {
  @ApiProperty({ enum: ['succeeded', 'failed'], description: 'What the operator established happened downstream' })
  @IsIn(['succeeded', 'failed'])
  outcome!: 'succeeded' | 'failed';

  @ApiProperty({ example: 'payment provider shows the transfer under the idempotency key' })
  @IsString() @IsNotEmpty() @MaxLength(2000)
  reason!: string;
}

export class DispatchApprovalDto {
  @IsString() @IsNotEmpty() approval_id!: string;
  @IsString({ each: true }) approved_by!: string[];
  @IsString() @IsNotEmpty() policy_snapshot!: string;
  @IsString() @IsNotEmpty() job_hash!: string;
}

/** Value of `signoff.jobs.dispatch` (DESIGN section 6). */
export class DispatchMessageDto {
  @IsString() @IsNotEmpty() job_id!: string;
  @IsString() @IsNotEmpty() topic!: string;
  @IsString() priority!: string;
  @IsString() tenant!: string;
  @IsObject() labels!: Record<string, string>;
  @IsOptional() payload?: unknown;
  @IsOptional() @ValidateNested() @Type(() => DispatchApprovalDto) approval?: DispatchApprovalDto;
  @IsInt() @Min(1) attempt!: number;
  @IsString() @IsNotEmpty() idempotency_key!: string;
  /** Not part of the hashed request; lets a worker recompute job_hash without the approval block. */
  @IsOptional() @IsString() submitted_by?: string;
  @IsOptional() @IsString() job_hash?: string;
  @IsOptional() @IsString() policy_snapshot?: string;
  @IsOptional() @IsBoolean() approval_granted?: boolean;
}

/** The `status` of a worker's report; `unknown`: the lease was lost without a recorded outcome (see the worker SDK). */
export const JOB_RESULT_STATUSES = ['started', 'succeeded', 'failed', 'unknown'] as const;
export type JobResultStatus = (typeof JOB_RESULT_STATUSES)[number];

/**
 * Value of `signoff.jobs.results` (DESIGN section 6), plus `attempt`: the dispatch attempt the
 * worker received (a report for an attempt the job's stream never recorded is refused), and
 * `tenant`: the tenant of the dispatch the worker ran (job ids are scoped by tenant; absent =
 * `default`, as in reports of older workers). The worker's credential travels in the
 * `authorization` header, never in the value.
 */
export class JobResultMessageDto {
  @IsString() @IsNotEmpty() job_id!: string;
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'tenant must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  tenant?: string;
  @IsString() @IsNotEmpty() idempotency_key!: string;
  @IsInt() @Min(1) attempt!: number;
  @IsIn(JOB_RESULT_STATUSES) status!: JobResultStatus;
  /** The run counter of the claim the report is about (grows with every takeover). */
  @IsOptional() @IsInt() @Min(1) fencing_token?: number;
  @IsOptional() result?: unknown;
  @IsOptional() @IsString() error?: string;
  @IsOptional() @IsString() @MaxLength(200) @IsSafeIdentity() worker?: string;
}

/** The RFC 9457 problem document every error is answered with (for OpenAPI). */
export class ProblemDto {
  @ApiProperty({ example: 'https://signoff.dev/problems/snapshot-changed' }) type!: string;
  @ApiProperty({ example: 'snapshot changed' }) title!: string;
  @ApiProperty({ example: 409 }) status!: number;
  @ApiPropertyOptional() detail?: string;
  @ApiPropertyOptional() instance?: string;
  @ApiProperty({ description: 'Stable machine-readable error code', example: 'snapshot_changed' }) code!: string;
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
const NESTED: ReadonlyMap<Ctor<object>, Readonly<Record<string, Ctor<object>>>> = new Map<Ctor<object>, Record<string, Ctor<object>>>([
  [DispatchMessageDto, { approval: DispatchApprovalDto }],
]);

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
