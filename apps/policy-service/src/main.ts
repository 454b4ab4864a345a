import 'reflect-metadata';
import { runService } from '@signoff/runtime';
import { PolicyServiceModule } from './app.module';

void runService('policy-service', PolicyServiceModule).catch((error: unknown) => {
  process.stderr.write(`policy-service failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
