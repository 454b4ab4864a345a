import 'reflect-metadata';
import { runService, serviceEnvironment } from '@signoff/runtime';
import { DispatchServiceModule } from './app.module';
import { dispatchOptionsFromEnv } from './dispatch.options';

const env = serviceEnvironment();
const { options, problems } = dispatchOptionsFromEnv(env);
if (problems.length > 0) {
  process.stderr.write(`dispatch-service: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(78);
}

void runService('dispatch-service', { forRoot: (config) => DispatchServiceModule.forRoot(config, options) }, { environment: env, authRequired: true, signingKeyRequired: true }).catch(
  (error: unknown) => {
    process.stderr.write(`dispatch-service failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
