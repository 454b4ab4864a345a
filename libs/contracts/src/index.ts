export * from './ids';
export * from './events';
export * from './topics';
export * from './errors';
export * from './messages';
export * from './dispatch-grant';
export { PROTO_PATH } from './proto-path';
export * from './text-safety';
export * from './labels';
