import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DISPATCH_OPTIONS, ResolvedDispatchOptions } from '@signoff/dispatch-service/testing';
import { JsonLogger } from '@signoff/observability';
import { createHttpApp } from '@signoff/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig, TEST_JWT_SECRET } from '../../../test/support/app';
import { testKeys } from '../../../test/support/keys';
import { StandaloneServiceModule } from './app.module';

/**
 * `npm start` honours the dispatch settings of the configuration (README, Configuration): the
 * standalone's composition hands the validated DISPATCH_MAX_ATTEMPTS to its dispatcher, as the
 * dispatch service's does.
 */
describe('standalone composition: configuration reaches the dispatcher', () => {
  let app: NestFastifyApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function dispatchOptions(env: Record<string, string>): Promise<ResolvedDispatchOptions> {
    const config = testConfig({ EVENT_STORE_URL: 'pglite://memory', ...env });
    app = await createHttpApp(StandaloneServiceModule.forRoot(config, TEST_JWT_SECRET, testKeys().keys), {
      service: 'standalone-config-test',
      logger: new JsonLogger('standalone-config-test', 'warn'),
    });
    return app.get<typeof DISPATCH_OPTIONS, ResolvedDispatchOptions>(DISPATCH_OPTIONS, { strict: false });
  }

  it('passes DISPATCH_MAX_ATTEMPTS to the dispatcher', async () => {
    expect((await dispatchOptions({ DISPATCH_MAX_ATTEMPTS: '3' })).maxAttempts).toBe(3);
  });

  it('keeps the default of 5 attempts when it is unset', async () => {
    expect((await dispatchOptions({})).maxAttempts).toBe(5);
  });
});
