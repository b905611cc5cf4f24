/**
 * Node's `net`, `dgram` and `dns` for one stack: `createNodeModules(stack)` returns objects with
 * the exports of `node:net`, `node:dgram` and `node:dns`, bound to that stack. `stack.net`,
 * `stack.dgram` and `stack.dns` give the same objects, created on first use: each stack instance
 * provides its own modules, sharing one context (clock, timers, resolver, event-loop reference).
 */
import { createDgram, type DgramModule } from './dgram.js';
import { createDns, type DnsModule } from './dns.js';
import { createNet, type NetModule } from './net.js';
import { createOs, type OsModule } from './os.js';
import { NodeModuleContext, type LookupFunction } from './node-support.js';
import type { Stack } from './stack.js';

/** The pair of modules of one stack. */
export interface NodeModules {
  /** The stack's drop-in for `node:net`. */
  readonly net: NetModule;
  /** The stack's drop-in for `node:dgram`. */
  readonly dgram: DgramModule;
  /** The stack's drop-in for `node:dns`: resolvers that ask over the stack (`dns.promises` too). */
  readonly dns: DnsModule;
  /** Node's `os` whose `networkInterfaces()` lists the stack's interfaces (the rest is the host's). */
  readonly os: OsModule;
}

/** Options of createNodeModules. */
export interface NodeModulesOptions {
  /** Resolver for host names that are not IPv4 literals (default: only `localhost`). */
  readonly lookup?: LookupFunction;
}

const modulesOfStack = new WeakMap<Stack, NodeModules>();

/** Fresh `net` and `dgram` modules bound to `stack`. */
export function createNodeModules(stack: Stack, options: NodeModulesOptions = {}): NodeModules {
  const context = new NodeModuleContext(stack);
  if (options.lookup) context.lookup = options.lookup;
  const net = createNet(stack, context);
  const dgram = createDgram(stack, context);
  return { net, dgram, dns: createDns(stack, context, dgram, net), os: createOs(stack) };
}

/** The stack's own modules (what `stack.net` and `stack.dgram` return), created on first use. */
export function nodeModulesOf(stack: Stack): NodeModules {
  let modules = modulesOfStack.get(stack);
  if (!modules) {
    modules = createNodeModules(stack);
    modulesOfStack.set(stack, modules);
  }
  return modules;
}

export type { NetModule, DgramModule, DnsModule, OsModule };
