import { Module } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, ICommandHandler, IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { SignoffError } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import { cqrsHandlers } from './cqrs-handlers';

class Greet extends Command<string> {
  constructor(readonly name: string) {
    super();
  }
}
class Count extends Query<number> {}

@CommandHandler(Greet)
class GreetHandler implements ICommandHandler<Greet> {
  async execute({ name }: Greet): Promise<string> {
    if (name === '') throw new SignoffError('invalid_request', 'a name is required', { field: 'name' });
    return `hello ${name}`;
  }
}

@QueryHandler(Count)
class CountHandler implements IQueryHandler<Count> {
  async execute(): Promise<number> {
    return 42;
  }
}

@Module({ providers: [CommandBus, QueryBus], exports: [CommandBus, QueryBus] })
class Buses {}

@Module({ imports: [Buses], providers: [...cqrsHandlers('Feature', { commands: [GreetHandler], queries: [CountHandler] })] })
class Feature {}

describe('cqrsHandlers', () => {
  it('registers the handlers when they are instantiated, before the application is initialized', async () => {
    // compile() instantiates; no init(), so no onModuleInit / onApplicationBootstrap has run.
    const module = await Test.createTestingModule({ imports: [Feature] }).compile();
    await expect(module.get(CommandBus).execute(new Greet('rita'))).resolves.toBe('hello rita');
    await expect(module.get(QueryBus).execute(new Count())).resolves.toBe(42);
    await module.close();
  });

  it('hands the handler\'s error to the caller unchanged (same instance, code and details)', async () => {
    const module = await Test.createTestingModule({ imports: [Feature] }).compile();
    const error = await module.get(CommandBus).execute(new Greet('')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignoffError);
    expect(error).toMatchObject({ code: 'invalid_request', message: 'a name is required', extensions: { field: 'name' } });
    await module.close();
  });
});
