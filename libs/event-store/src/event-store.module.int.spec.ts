import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { EventStoreArgumentError, EventStoreClosedError } from './event-store.errors';
import { EventStoreModule } from './event-store.module';
import { EventStore } from './event-store.port';

const CONFIG = Symbol('CONFIG');

@Module({ providers: [{ provide: CONFIG, useValue: { eventStoreUrl: 'pglite://memory' } }], exports: [CONFIG] })
class ConfigModule {}

/** A feature provider that gets the port by its type alone (the abstract class is the token). */
@Injectable()
class JobReader {
  constructor(readonly store: EventStore) {}
}

@Module({ providers: [JobReader] })
class FeatureModule {}

@Injectable()
class ExplicitReader {
  constructor(@Inject(EventStore) readonly store: EventStore) {}
}

const event = { id: '0b9c2a6e-5a6f-4d4e-9a3b-0d6c5e1f2a3b', type: 'JobSubmitted', data: { job_id: 'j1' } };

describe('EventStoreModule', () => {
  it('forRoot provides the store to the whole application and closes it on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EventStoreModule.forRoot({ url: 'pglite://memory' })],
      providers: [ExplicitReader],
    }).compile();
    await moduleRef.init();
    const store = moduleRef.get(EventStore);
    expect(moduleRef.get(ExplicitReader).store).toBe(store);
    await store.appendToStream('job-j1', [event], { expectedRevision: 'no_stream' });
    expect((await store.readStream('job-j1')).map((e) => e.type)).toEqual(['JobSubmitted']);
    await moduleRef.close();
    await expect(store.readStream('job-j1')).rejects.toBeInstanceOf(EventStoreClosedError);
  });

  it('forRootAsync takes the URL from another provider; other modules get the global store', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventStoreModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { eventStoreUrl: string }) => ({ url: config.eventStoreUrl }),
        }),
        FeatureModule,
      ],
    }).compile();
    await moduleRef.init();
    const reader = moduleRef.get(JobReader);
    expect(reader.store).toBe(moduleRef.get(EventStore));
    await reader.store.appendToStream('job-j2', [event], { expectedRevision: 'no_stream' });
    expect(await reader.store.readStream('job-j2')).toHaveLength(1);
    await moduleRef.close();
  });

  it('an unsupported URL stops start-up with a clear message', async () => {
    const compiling = Test.createTestingModule({ imports: [EventStoreModule.forRoot({ url: 'mysql://root@localhost/signoff' })] }).compile();
    await expect(compiling).rejects.toBeInstanceOf(EventStoreArgumentError);
    await expect(
      Test.createTestingModule({ imports: [EventStoreModule.forRoot({ url: 'mysql://root@localhost/signoff' })] }).compile(),
    ).rejects.toThrow(/Unsupported EVENT_STORE_URL scheme "mysql:\/\/"; use postgres:\/\//);
  });
});
