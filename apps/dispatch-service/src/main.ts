import 'reflect-metadata';
import { runService } from '@signoff/runtime';
import { DispatchServiceModule } from './app.module';

void runService('dispatch-service', DispatchServiceModule, { port: 8080 }).catch((error: unknown) => {
  process.stderr.write(`dispatch-service failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
