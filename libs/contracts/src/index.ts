export * from './events';
export * from './topics';
export * from './errors';
export * from './messages';
export * from './glob';
export { PROTO_PATH } from './proto-path';
