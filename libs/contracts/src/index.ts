export * from './ids';
export * from './events';
export * from './topics';
export * from './errors';
export * from './messages';
export { PROTO_PATH } from './proto-path';
