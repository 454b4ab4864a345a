import { DynamicModule, Module } from '@nestjs/common';
import { cqrsHandlers, JobCommandHandler } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { CoalescingEventStore } from './dispatch/coalescing.event-store';
import { DISPATCH_OPTIONS, DispatchOptions, resolveDispatchOptions } from './dispatch.options';
import { DispatchGrantSigner } from './dispatch/dispatch-grant.signer';
import { DispatchJobHandler } from './dispatch/dispatch-job.handler';
import { JobDispatcher } from './dispatch/job-dispatcher';
import { JwksHttpController } from './dispatch/jwks.http.controller';
import { JobReleasedMessageController } from './dispatch/job-released.message.controller';
import { DispatchLog } from './replay/dispatch-log';
import { ReplayConsumer } from './replay/replay.consumer';
import { JobResultsMessageController } from './results/job-results.message.controller';
import { RecordJobResultHandler } from './results/record-job-result.handler';

/**
 * The dispatch service's use cases: dispatch released jobs (`jobs.evaluated`, `jobs.approved`),
 * signed with `options.signing` (required), the replay consumer, the workers' results
 * (`jobs.results`, authenticated), and `GET /.well-known/jwks.json`; DispatchLog, the one reader
 * of the global log, shared by the dispatcher (an approved job's grant is judged by the policy
 * active at its position before the first claim) and the replay consumer. Needs the global CoreModule
 * and AuthModule of its composition root (the dispatch service's own, or the standalone's); the
 * message controllers run once the root connects the MessageBusServer transport.
 */
@Module({})
export class DispatchModule {
  static forRoot(options: DispatchOptions = {}): DynamicModule {
    return {
      module: DispatchModule,
      controllers: [JobReleasedMessageController, JobResultsMessageController, JwksHttpController],
      providers: [
        { provide: DISPATCH_OPTIONS, useValue: resolveDispatchOptions(options) },
        // The dispatch use cases' own command handler: concurrent reads and appends of their jobs
        // (a burst of notifications, a replay round) leave as one multi-stream call each.
        {
          provide: JobCommandHandler,
          useFactory: (store: EventStore, metrics: SignoffMetrics) => new JobCommandHandler(new CoalescingEventStore(store), metrics),
          inject: [EventStore, SignoffMetrics],
        },
        DispatchGrantSigner,
        DispatchLog,
        JobDispatcher,
        ReplayConsumer,
        // One handler per use case the message controllers dispatch to, on the CommandBus.
        ...cqrsHandlers('DispatchModule', { commands: [DispatchJobHandler, RecordJobResultHandler] }),
      ],
      exports: [DispatchLog, JobDispatcher, ReplayConsumer],
    };
  }
}
