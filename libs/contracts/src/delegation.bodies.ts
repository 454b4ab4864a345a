import 'reflect-metadata';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ID_PATTERN, IsSafeIdentity } from './validation';

/** An ISO-8601 instant with an explicit offset (`Z` or `+hh:mm`), at most nanoseconds. */
export const ISO_INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The most roles or tenants a delegation may narrow itself to. */
export const MAX_DELEGATION_SCOPE_ITEMS = 50;

/**
 * Body of `POST /delegations` (reviewer): delegate my authority to `delegate` from `starts_at`
 * (default: now) until `ends_at`. `roles` / `tenants` narrow what is delegated to a subset of the
 * caller's token; absent = all of it.
 */
export class CreateDelegationDto {
  @ApiProperty({ example: 'bob', description: 'Who may act for you (their `sub`)' })
  @IsString() @MaxLength(200) @IsSafeIdentity()
  delegate!: string;

  @ApiPropertyOptional({ example: '2026-12-24T00:00:00Z', description: 'Default: now' })
  @IsOptional() @IsString() @MaxLength(40) @Matches(ISO_INSTANT_PATTERN, { message: 'starts_at must be an ISO-8601 instant with an offset' })
  starts_at?: string;

  @ApiProperty({ example: '2027-01-04T00:00:00Z' })
  @IsString() @MaxLength(40) @Matches(ISO_INSTANT_PATTERN, { message: 'ends_at must be an ISO-8601 instant with an offset' })
  ends_at!: string;

  @ApiProperty({ example: 'out of office' })
  @IsString() @IsNotEmpty() @MaxLength(2000)
  reason!: string;

  @ApiPropertyOptional({ type: [String], description: 'A subset of your token\'s roles; default: all of them' })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_DELEGATION_SCOPE_ITEMS) @IsString({ each: true }) @MaxLength(200, { each: true })
  roles?: string[];

  @ApiPropertyOptional({ type: [String], description: 'A subset of your token\'s tenants; default: all of them' })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_DELEGATION_SCOPE_ITEMS) @IsString({ each: true }) @Matches(ID_PATTERN, { each: true, message: 'tenants must be ids' })
  tenants?: string[];
}

/** Body of `DELETE /delegations/:id` (optional). */
export class RevokeDelegationDto {
  @ApiPropertyOptional({ example: 'back early' })
  @IsOptional() @IsString() @MaxLength(2000)
  reason?: string;
}
