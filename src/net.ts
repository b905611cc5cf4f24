/**
 * `ustack/net`: Node's `net` module bound to a stack (IPv4 and IPv6). `createNet(stack)` returns an
 * object with the exports of `node:net` whose sockets and servers run on `stack`; `stack.net`
 * is the stack's own such module, created on first use.
 *
 * This file only re-exports.
 *
 * @module ustack/net
 */
export { createNet, type NetModule } from './socket-api/net.js';
export { createNodeModules, type NodeModules, type NodeModulesOptions } from './socket-api/node-modules.js';
export { NetSocket, type NetSocketOptions, type NetConnectOptions } from './socket-api/net-socket.js';
export { NetServer, type NetServerOptions, type NetListenOptions } from './socket-api/net-server.js';
export { serveOnStack } from './socket-api/serve-on-stack.js';
export type { LookupFunction, LookupAddress, LookupOptions } from './socket-api/node-support.js';
export type { NodeSystemError, NodeCodedError } from './socket-api/node-errors.js';
