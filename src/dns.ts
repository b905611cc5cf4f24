/**
 * `ustack/dns`: Node's `dns` module bound to a stack. Its `Resolver` (and `promises.Resolver`)
 * ask DNS servers over the stack's own UDP and TCP with an RFC 1035 codec of ustack's; `lookup`
 * stays Node's (the host's getaddrinfo). `stack.dns` is the stack's own such module, created on
 * first use; `createNodeModules(stack).dns` makes a fresh one.
 *
 * This file only re-exports.
 *
 * @module ustack/dns
 */
export { Resolver, PromiseResolver, type DnsModule, type DnsPromisesModule, type ResolverOptions, type DnsError } from './socket-api/dns.js';
export { createNodeModules, type NodeModules, type NodeModulesOptions } from './socket-api/node-modules.js';
export {
  decodeDnsMessage,
  encodeDnsMessage,
  encodeDnsQuery,
  recordValue,
  aRecordData,
  nameRecordData,
  DnsType,
  DnsRcode,
  DNS_CLASS_IN,
  type DnsMessage,
  type DnsMessageInput,
  type DnsQuestion,
  type DnsRecord,
  type DnsRecordInput,
  type DnsRecordValue,
} from './dns/message.js';
