import { DynamicModule, Module } from '@nestjs/common';
import { DISPATCH_OPTIONS, DispatchOptions, resolveDispatchOptions } from './dispatch.options';
import { JobDispatcher } from './dispatch/job-dispatcher';
import { JobReleasedMessageController } from './dispatch/job-released.message.controller';
import { DispatchLog } from './replay/dispatch-log';
import { ReplayConsumer } from './replay/replay.consumer';
import { JobResultsMessageController } from './results/job-results.message.controller';

/**
 * The dispatch service's use cases: dispatch released jobs (`jobs.evaluated`, `jobs.approved`),
 * the replay consumer, and the workers' results (`jobs.results`). Needs the global CoreModule of
 * its composition root (the dispatch service's own, or the standalone's); the message controllers
 * run once the root connects the MessageBusServer transport.
 */
@Module({})
export class DispatchModule {
  static forRoot(options: DispatchOptions = {}): DynamicModule {
    return {
      module: DispatchModule,
      controllers: [JobReleasedMessageController, JobResultsMessageController],
      providers: [{ provide: DISPATCH_OPTIONS, useValue: resolveDispatchOptions(options) }, DispatchLog, JobDispatcher, ReplayConsumer],
      exports: [DispatchLog, JobDispatcher, ReplayConsumer],
    };
  }
}
