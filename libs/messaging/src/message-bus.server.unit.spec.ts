import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MicroserviceOptions, Payload } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { InMemoryMessageBus } from './in-memory.message-bus';
import { busMessage, MessageBusServer } from './message-bus.server';
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
      throw new Error('transient');
    }
    received.push({ value, key: message.key, topic: message.topic });
  }
}

@Module({ controllers: [DemoMessageController] })
class DemoModule {}

describe('MessageBusServer (Nest transport over the MessageBus port)', () => {
  it('routes @EventPattern handlers to prefixed topics, passes parsed JSON (null when not JSON) and retries a failing handler', async () => {
    const bus = new InMemoryMessageBus();
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(DemoModule, {
      strategy: new MessageBusServer(bus, { groupId: 'demo', topicPrefix: 'acme.' }),
      logger: false,
    });
    await app.listen();
    try {
      await bus.publish('acme.jobs.requested', [
        { key: 'a', value: { topic: 'knowledge.read' } },
        { key: 'b', value: Buffer.from('{not json') },
        { key: 'flaky', value: { n: 1 } },
      ]);
      await eventually(() => received.length >= 3, 'three handled messages', 5000);
      expect(received.map((r) => r.key).sort()).toEqual(['a', 'b', 'flaky']);
      expect(received.find((r) => r.key === 'a')).toEqual({ value: { topic: 'knowledge.read' }, key: 'a', topic: 'acme.jobs.requested' });
      expect(received.find((r) => r.key === 'b')!.value).toBeNull();
      expect(failOnce).toBe(false);
    } finally {
      await app.close();
      await bus.close();
    }
  });
});
