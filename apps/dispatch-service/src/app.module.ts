import { DynamicModule, Module } from '@nestjs/common';
import { Clock, CoreModule } from '@signoff/core';
import { SignoffConfig } from '@signoff/runtime';
import { DispatchOptions } from './dispatch.options';
import { DispatchModule } from './dispatch.module';

/** The dispatch service as its own process: publishes released jobs once, replays stuck ones, records results. */
@Module({})
export class DispatchServiceModule {
  static forRoot(config: SignoffConfig, options: DispatchOptions & { readonly clock?: Clock } = {}): DynamicModule {
    const { clock, ...dispatch } = options;
    return {
      module: DispatchServiceModule,
      imports: [
        CoreModule.forRoot({ config, serviceName: 'signoff-dispatch-service', ...(clock ? { clock } : {}) }),
        DispatchModule.forRoot(dispatch),
      ],
    };
  }
}
