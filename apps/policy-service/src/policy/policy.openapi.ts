import { ApiProperty } from '@nestjs/swagger';

/*
 * OpenAPI descriptions of the policy routes' answers (served at /docs). The dry run's request body
 * is the contracts' SubmitJobDto, errors the contracts' ProblemDto.
 */

const SHA256 = '^sha256:[0-9a-f]{64}$';

export class ActivePolicyDoc {
  @ApiProperty({ pattern: SHA256, description: 'policy_snapshot: the hash of the parsed bundle (DESIGN section 3).' }) snapshot!: string;
  @ApiProperty({ example: 'v1', description: "The bundle's own `version:` (its format)." }) version!: string;
  @ApiProperty({
    example: 3,
    description: 'The activation number: 1 for the first policy ever activated, one more per activation (PolicyActivated in the event log records it as `v<activation>`).',
  })
  activation!: number;
  @ApiProperty({ enum: ['allow', 'deny', 'throttle', 'require_human'], description: 'The decision when no rule matches.' }) default!: string;
  @ApiProperty({ type: 'array', items: { type: 'object' }, description: 'The rules, normalized, in order (first match wins).' }) rules!: unknown[];
  @ApiProperty({ format: 'date-time' }) activated_at!: string;
  @ApiProperty({ description: 'Who activated it (`system:bootstrap` for POLICY_PATH at the first start).' }) activated_by!: string;
}

export class ActivatedPolicyDoc {
  @ApiProperty({ pattern: SHA256 }) snapshot!: string;
  @ApiProperty({ example: 'v1', description: "The bundle's own `version:`." }) version!: string;
  @ApiProperty({ example: 4, description: 'The activation number of the bundle now active (unchanged when it was active already).' }) activation!: number;
}

export class DryRunDoc {
  @ApiProperty({ enum: ['allow', 'deny', 'throttle', 'require_human'], description: 'A throttle rule counts as under its limit: nothing is counted.' }) decision!: string;
  @ApiProperty({ nullable: true, type: String, description: 'The rule that decided; null for the default decision.' }) rule_id!: string | null;
  @ApiProperty() reason!: string;
  @ApiProperty({ pattern: SHA256 }) policy_snapshot!: string;
}
