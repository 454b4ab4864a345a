import { InMemoryMessageBus } from './in-memory.message-bus';
import { describeMessageBusConformance } from './testing/message-bus.conformance';

describeMessageBusConformance('in-process bus', () => new InMemoryMessageBus());
