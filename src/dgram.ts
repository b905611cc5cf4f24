/**
 * `ustack/dgram`: Node's `dgram` module bound to a stack (`udp4` and `udp6`). `createDgram(stack)` returns
 * an object with the exports of `node:dgram` whose sockets run on `stack`; `stack.dgram` is the
 * stack's own such module, created on first use.
 *
 * This file only re-exports.
 *
 * @module ustack/dgram
 */
export { createDgram, DgramSocket, type DgramModule, type DgramSocketOptions, type RemoteInfo } from './socket-api/dgram.js';
export { createNodeModules, type NodeModules, type NodeModulesOptions } from './socket-api/node-modules.js';
export type { NodeSystemError, NodeCodedError } from './socket-api/node-errors.js';
