import 'reflect-metadata';
import { Equals, IsNotEmpty, IsOptional, IsString, Matches } from 'class-validator';
import type { MessageRecord } from './message-record';

/**
 * `signoff.audit` (DESIGN section 6): every domain event as a structured-mode CloudEvent 1.0,
 * key = its subject (the job id, or the snapshot of a PolicyActivated). Produced by the audit
 * relay of @signoff/core (the CloudEvent is made by its `toCloudEvent`, with the configured
 * fields redacted; {@link auditMessage} makes the record); consumed outside Signoff (auditors'
 * sinks), which deduplicate redeliveries by `id`. `signoff audit export` writes the same form.
 */

/** Version of the `signoff.audit` value described here (not on the wire; CloudEvents' own is `specversion`). */
export const AUDIT_MESSAGE_VERSION = 1;

/** Content type of a `signoff.audit` value: structured-mode CloudEvents JSON. */
export const AUDIT_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/** The value of a `signoff.audit` message: a CloudEvent 1.0 with Signoff's extension attributes. */
export interface AuditMessage {
  readonly specversion: '1.0';
  /** The stored event's id. */
  readonly id: string;
  /** `/signoff/jobs` or `/signoff/policy`. */
  readonly source: string;
  /** `signoff.<area>.<what happened>`, e.g. `signoff.approval.granted`. */
  readonly type: string;
  /** The job id (the snapshot of a PolicyActivated). */
  readonly subject?: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /** The event data, with the configured fields redacted. */
  readonly data?: unknown;
  readonly correlationid: string;
  readonly causationid: string;
  readonly actor: string;
  readonly streamrevision: string;
  readonly logposition: string;
  /** The job's tenant (absent on PolicyActivated): `subject` alone does not name the job. */
  readonly tenant?: string;
}

const DECIMAL = /^[0-9]+$/;

/** Validates a `signoff.audit` value as the audit relay writes it. */
export class AuditMessageDto {
  @Equals('1.0') specversion!: '1.0';
  @IsString() @IsNotEmpty() id!: string;
  @IsString() @IsNotEmpty() source!: string;
  @IsString() @Matches(/^signoff\.[a-z]+\.[a-z_]+$/) type!: string;
  @IsOptional() @IsString() subject?: string;
  @IsString() @IsNotEmpty() time!: string;
  @Equals('application/json') datacontenttype!: 'application/json';
  @IsOptional() data?: unknown;
  @IsString() correlationid!: string;
  @IsString() causationid!: string;
  @IsString() actor!: string;
  @IsString() @Matches(DECIMAL) streamrevision!: string;
  @IsString() @Matches(DECIMAL) logposition!: string;
  @IsOptional() @IsString() tenant?: string;
}

/**
 * The `signoff.audit` record of a CloudEvent: key = its subject (else `fallbackKey`, the stream
 * id), the structured JSON as the value, and the headers `content-type`, `ce-id`, `ce-type`.
 * `cloudEvent` may be a `CloudEvent` of the cloudevents package: it is serialized by its own
 * `toJSON`, exactly as JSON.stringify writes it.
 */
export function auditMessage(cloudEvent: Pick<AuditMessage, 'id' | 'type' | 'subject'>, fallbackKey: string): MessageRecord<string> {
  return {
    key: cloudEvent.subject ?? fallbackKey,
    value: JSON.stringify(cloudEvent),
    headers: { 'content-type': AUDIT_CONTENT_TYPE, 'ce-id': cloudEvent.id, 'ce-type': cloudEvent.type },
  };
}
