import 'reflect-metadata';
import { runService } from '@signoff/runtime';
import { ApprovalServiceModule } from './app.module';

void runService('approval-service', ApprovalServiceModule, { port: 8080 }).catch((error: unknown) => {
  process.stderr.write(`approval-service failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
