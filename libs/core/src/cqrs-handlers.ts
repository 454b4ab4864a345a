import { Provider, Type } from '@nestjs/common';
import { CommandBus, ICommandHandler, IQueryHandler, QueryBus } from '@nestjs/cqrs';

/** The handlers of a feature module, by bus. */
export interface CqrsHandlerSet {
  /** `@CommandHandler` classes. */
  readonly commands?: readonly Type<ICommandHandler>[];
  /** `@QueryHandler` classes. */
  readonly queries?: readonly Type<IQueryHandler>[];
}

/** What CommandBus/QueryBus.register read of a handler: its class and its (singleton) instance. */
type Registered<H> = Parameters<CommandBus['register']>[0] extends (infer W)[] | undefined ? W & { instance: H } : never;

/**
 * The providers of a feature module's use-case handlers, registered on the CoreModule's
 * `CommandBus` and `QueryBus` as soon as they are instantiated. Registration does not wait for
 * `onApplicationBootstrap` (when `CqrsModule` would register them) because message controllers
 * can receive before it: a composition root may start its transports (`startAllMicroservices`)
 * before the application is initialized, and a command sent then would find no handler and be
 * dead-lettered. Each module lists its handlers here, explicitly, in its `providers`.
 */
export function cqrsHandlers(feature: string, handlers: CqrsHandlerSet): Provider[] {
  const commands = handlers.commands ?? [];
  const queries = handlers.queries ?? [];
  return [
    ...commands,
    ...queries,
    {
      provide: Symbol(`${feature}: CQRS handlers registered`),
      inject: [CommandBus, QueryBus, ...commands, ...queries],
      useFactory: (commandBus: CommandBus, queryBus: QueryBus, ...instances: unknown[]) => {
        commandBus.register(commands.map((type, i) => registered(type, instances[i])));
        queryBus.register(queries.map((type, i) => registered(type, instances[commands.length + i])));
        return true;
      },
    },
  ];
}

function registered<H>(metatype: Type<H>, instance: unknown): Registered<H> {
  return { metatype, instance, isDependencyTreeStatic: () => true } as unknown as Registered<H>;
}
