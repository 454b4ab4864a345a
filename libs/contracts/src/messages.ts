import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
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
  validateSync,
  ValidationError,
} from 'class-validator';
import { Type } from 'class-transformer';

/** Job ids, topics and tenants: printable, no whitespace, bounded. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@\-/]{0,199}$/;
export const TOPIC_PATTERN = /^[a-z0-9][a-z0-9._\-]{0,199}$/i;

/** Body of `POST /jobs` and value of `signoff.jobs.requested` (DESIGN sections 4 and 6). */
export class SubmitJobDto {
  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'job_id must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  job_id?: string;

  @IsString() @IsNotEmpty() @Matches(TOPIC_PATTERN, { message: 'topic must be 1-200 characters of letters, digits, . _ -' })
  topic!: string;

  @IsOptional() @IsString() @MaxLength(32)
  priority?: string;

  @IsOptional() @IsString() @Matches(ID_PATTERN, { message: 'tenant must be 1-200 characters of A-Z a-z 0-9 . _ : @ - /' })
  tenant?: string;

  /** Free-form string labels; `approval_*` and `signoff.*` are reserved. */
  @IsOptional() @IsObject()
  labels?: Record<string, string>;

  @IsOptional()
  payload?: unknown;

  /** Only on Kafka ingress: who submitted (HTTP takes the token's subject). */
  @IsOptional() @IsString() @MaxLength(200)
  submitted_by?: string;
}

/** Body of `POST /approvals/:job_id/approve`. */
export class ApproveDto {
  @IsOptional() @IsString() @MaxLength(2000)
  reason?: string;

  @IsOptional() @IsString() @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'policy_snapshot must be sha256:<64 hex>' })
  policy_snapshot?: string;

  @IsOptional() @IsString() @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'job_hash must be sha256:<64 hex>' })
  job_hash?: string;
}

/** Body of `POST /approvals/:job_id/reject`. */
export class RejectDto {
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

/** Value of `signoff.jobs.results` (DESIGN section 6). */
export class JobResultMessageDto {
  @IsString() @IsNotEmpty() job_id!: string;
  @IsString() @IsNotEmpty() idempotency_key!: string;
  @IsIn(['started', 'succeeded', 'failed']) status!: 'started' | 'succeeded' | 'failed';
  @IsOptional() result?: unknown;
  @IsOptional() @IsString() error?: string;
  @IsOptional() @IsString() worker?: string;
}

/** One field error of a 400 `invalid_request`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

type Ctor<T> = new () => T;

/**
 * Validates an untrusted plain value against a DTO class. Unknown members are refused
 * (`forbidNonWhitelisted`), so a typo is an error, not a silently ignored field.
 */
export function validateMessage<T extends object>(
  cls: Ctor<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; errors: FieldError[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [{ field: '', message: 'body must be a JSON object' }] };
  }
  const instance = plainToInstance(cls, value, { enableImplicitConversion: false });
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length === 0) return { ok: true, value: instance };
  return { ok: false, errors: flattenErrors(errors) };
}

function flattenErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ field, message });
    if (error.children?.length) out.push(...flattenErrors(error.children, field));
  }
  return out;
}
