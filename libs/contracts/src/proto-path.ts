import path from 'node:path';

/** Absolute path of the `signoff.v1` proto file. */
export const PROTO_PATH = path.join(__dirname, 'proto', 'signoff.v1.proto');
