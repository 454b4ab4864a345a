import 'reflect-metadata';
import { runService } from '@signoff/runtime';
import { DISPATCH_CONFIG_DEFAULTS, DISPATCH_KEY_CONCURRENCY, DispatchServiceModule } from './app.module';

// runService reads and validates the environment once (DISPATCH_MAX_ATTEMPTS and the test-only
// SIGNOFF_FAULT included; an auth secret or JWKS URL and the signing key are required).
void runService('dispatch-service', DispatchServiceModule, { ...DISPATCH_CONFIG_DEFAULTS, keyConcurrency: DISPATCH_KEY_CONCURRENCY }).catch((error: unknown) => {
  process.stderr.write(`dispatch-service failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
