import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MicroserviceOptions, Payload } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { InMemoryMessageBus } from './in-memory.message-bus';
import { InboundMessage } from './message-bus.port';
import { busMessage, MessageBusErrorFilter, MessageBusServer } from './message-bus.server';
import { eventually } from './testing/message-bus.conformance';

const received: { value: unknown; key: string | null; topic: string }[] = [];
let failOnce = true;

@Controller()
class DemoMessageController {
  @EventPattern('jobs.requested')
  async onRequested(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    if (failOnce && message.key === 'flaky') {
      failOnce = false;
      throw new SignoffError('store_unavailable', 'the event store is unavailable');
    }
    if (message.key === 'invalid') throw new SignoffError('invalid_request', 'the job request is invalid', { errors: [{ field: 'topic', message: 'required' }] });
    if (message.key === 'bug') throw new TypeError("Cannot read properties of undefined (reading 'topic')");
    received.push({ value, key: message.key, topic: message.topic });
  }
}

@Module({ controllers: [DemoMessageController] })
class DemoModule {}

describe('MessageBusServer (Nest transport over the MessageBus port)', () => {
  it('routes @EventPattern handlers to prefixed topics, passes parsed JSON (null when not JSON), retries a transient failure and dead-letters permanent ones', async () => {
    const bus = new InMemoryMessageBus();
    const deadLettered: string[] = [];
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(DemoModule, {
      strategy: new MessageBusServer(bus, { groupId: 'demo', topicPrefix: 'acme.', onDeadLettered: ({ message, failure }) => void deadLettered.push(`${message.key}:${failure.code}`) }),
      logger: false,
    });
    app.useGlobalFilters(new MessageBusErrorFilter());
    await app.listen();
    const dead: InboundMessage[] = [];
    const dlq = await bus.subscribe({ groupId: 'probe', topics: ['acme.jobs.requested.dlq'], handler: async (m) => void dead.push(m) });
    try {
      await bus.publish('acme.jobs.requested', [
        { key: 'a', value: { topic: 'knowledge.read' } },
        { key: 'invalid', value: { n: 1 } },
        { key: 'b', value: Buffer.from('{not json') },
        { key: 'bug', value: { n: 2 } },
        { key: 'flaky', value: { n: 1 } },
      ]);
      await eventually(() => received.length >= 3 && dead.length >= 2, 'three handled and two dead-lettered messages', 5000);
      expect(received.map((r) => r.key).sort()).toEqual(['a', 'b', 'flaky']);
      expect(received.find((r) => r.key === 'a')).toEqual({ value: { topic: 'knowledge.read' }, key: 'a', topic: 'acme.jobs.requested' });
      expect(received.find((r) => r.key === 'b')!.value).toBeNull();
      expect(failOnce).toBe(false);
      expect(Object.fromEntries(dead.map((m) => [m.key, m.headers['error-code']]))).toEqual({ invalid: 'invalid_request', bug: 'internal' });
      expect(dead.find((m) => m.key === 'invalid')!.headers['error-detail']).toBe('the job request is invalid: [{"field":"topic","message":"required"}]');
      expect(deadLettered.sort()).toEqual(['bug:internal', 'invalid:invalid_request']);
    } finally {
      await dlq.stop();
      await app.close();
      await bus.close();
    }
  });
});
