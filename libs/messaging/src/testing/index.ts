/**
 * @signoff/messaging/testing: the conformance suite every MessageBus adapter passes, for specs
 * only (not in the production barrel).
 */
export { describeMessageBusConformance, eventually } from './message-bus.conformance';
