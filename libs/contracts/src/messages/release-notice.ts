import 'reflect-metadata';
import { IsString, Matches } from 'class-validator';
import { DEFAULT_TENANT, JobRef } from '../ids';
import { ID_PATTERN, validateMessage } from '../validation';

/**
 * What the dispatch service reads of a `signoff.jobs.evaluated` or `signoff.jobs.approved` value:
 * the job it names. A release notice is only a hint (what is dispatched is read from the job's
 * stream), so the reader is tolerant: it validates the members it uses and ignores the rest, and
 * a value without `tenant` (relayed before job ids were scoped by tenant) names the `default`
 * tenant.
 */
export class JobReleaseNoticeDto {
  @IsString() @Matches(ID_PATTERN) job_id!: string;
  @IsString() @Matches(ID_PATTERN) tenant!: string;
}

/**
 * The job a release notice is about: the value's `job_id`, else the message key (key = job_id on
 * every topic), in the value's `tenant` (absent: `default`). Null when the job id or the tenant is
 * not a valid id ({@link JobReleaseNoticeDto}), or key and value disagree.
 */
export function readReleaseNotice(value: unknown, key: string | null): JobRef | null {
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { job_id?: unknown; tenant?: unknown }) : {};
  const notice = { job_id: object.job_id === undefined ? key : object.job_id, tenant: object.tenant ?? DEFAULT_TENANT };
  const parsed = validateMessage(JobReleaseNoticeDto, notice);
  if (!parsed.ok) return null;
  if (key !== null && key !== parsed.value.job_id) return null;
  return { tenant: parsed.value.tenant, jobId: parsed.value.job_id };
}
