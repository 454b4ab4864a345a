import { DynamicModule, Module } from '@nestjs/common';
import { DISPATCH_OPTIONS, DispatchOptions, resolveDispatchOptions } from './dispatch.options';
import { DispatchGrantSigner } from './dispatch/dispatch-grant.signer';
import { JobDispatcher } from './dispatch/job-dispatcher';
import { JwksHttpController } from './dispatch/jwks.http.controller';
import { JobReleasedMessageController } from './dispatch/job-released.message.controller';
import { ReplayConsumer } from './replay/replay.consumer';
import { JobResultsMessageController } from './results/job-results.message.controller';

/**
 * The dispatch service's use cases: dispatch released jobs (`jobs.evaluated`, `jobs.approved`),
 * signed with `options.signing` (required), the replay consumer, the workers' results
 * (`jobs.results`, authenticated), and `GET /.well-known/jwks.json`. Needs the global CoreModule
 * and AuthModule of its composition root (the dispatch service's own, or the standalone's); the
 * message controllers run once the root connects the MessageBusServer transport.
 */
@Module({})
export class DispatchModule {
  static forRoot(options: DispatchOptions = {}): DynamicModule {
    return {
      module: DispatchModule,
      controllers: [JobReleasedMessageController, JobResultsMessageController, JwksHttpController],
      providers: [{ provide: DISPATCH_OPTIONS, useValue: resolveDispatchOptions(options) }, DispatchGrantSigner, JobDispatcher, ReplayConsumer],
      exports: [JobDispatcher, ReplayConsumer],
    };
  }
}
