import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ProblemDto } from '@signoff/contracts';

/**
 * OpenAPI at `/docs` (UI) and `/docs/json`, generated from the controllers and DTOs. Every error
 * is `application/problem+json` (ProblemDto) with a stable `code`.
 */
export function setupOpenApi(app: NestFastifyApplication, title: string): void {
  const config = new DocumentBuilder()
    .setTitle(title)
    .setDescription(
      'Signoff: the approval control plane. Every error is RFC 9457 application/problem+json with a stable `code` ' +
        '(see the Problem schema). Authenticate with `Authorization: Bearer <JWT>` (roles: submitter, reviewer, admin, auditor).',
    )
    .setVersion('v1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] });
  // Errors are problem+json, not plain JSON.
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as { responses?: Record<string, { content?: Record<string, unknown> }> }[]) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        if (Number(status) >= 400 && response.content?.['application/json']) {
          response.content = { 'application/problem+json': response.content['application/json'] };
        }
      }
    }
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', useGlobalPrefix: false });
}
