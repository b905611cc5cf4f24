// Preloaded (`node --import`) into each Node test the compatibility runner starts: one ustack
// Stack owning 127.0.0.1 and ::1 (its loopback interface), driven in real time, whose `net`,
// `dgram` and `dns` (with `dns/promises`) replace Node's for `require()` and `import` alike, and
// `os`, whose `networkInterfaces()` lists the stack's interfaces. The test files stay unedited. ustack's `dns` resolves over the stack (its Resolver asks servers over
// the stack's UDP); its `lookup` is Node's own getaddrinfo, as documented in src/socket-api/dns.ts.
import Module from 'node:module';
import { register } from 'node:module';

const dist = process.env.USTACK_DIST;
if (!dist) throw new Error('node-compat preload: USTACK_DIST (the compiled dist/src directory) is not set');
const { Stack } = await import(`${dist}/socket-api/stack.js`);
const { RealtimeDriver } = await import(`${dist}/socket-api/realtime-driver.js`);
const { createNodeModules } = await import(`${dist}/socket-api/node-modules.js`);
const stack = new Stack({ name: 'node-compat', seed: Number(process.env.USTACK_SEED ?? 1) });
// A second interface on a link to nowhere, as a Linux `dummy` device: it gives the stack what a
// host's Ethernet would, a link-local IPv6 address (fe80::…%dummy0), which tests find through
// `os.networkInterfaces()` (the stack's, below). Its IPv4 address is a /32 of the benchmarking
// range (RFC 2544), which no test reaches.
stack.addInterface({
  name: 'dummy0',
  link: { name: 'dummy0', medium: 'ip', mtu: 1500, transmit() {}, setReceiver() {}, pollAt: () => Infinity, poll() {} },
  address: '198.18.0.1/32',
});
new RealtimeDriver(stack).start();
// Names resolve as in Node: through dns.lookup — the `dns` module the tests see, ustack's, looked
// up at each call, so that a test replacing `require('dns').lookup` is heard.
const modules = createNodeModules(stack, { lookup: (...args) => modules.dns.lookup(...args) });
globalThis[Symbol.for('ustack.nodeModules')] = modules;

const replaced = new Map([
  ['net', modules.net],
  ['node:net', modules.net],
  ['dgram', modules.dgram],
  ['node:dgram', modules.dgram],
  ['dns', modules.dns],
  ['node:dns', modules.dns],
  ['dns/promises', modules.dns.promises],
  ['node:dns/promises', modules.dns.promises],
  ['os', modules.os],
  ['node:os', modules.os],
]);
const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  const replacement = replaced.get(request);
  return replacement ?? originalLoad.call(this, request, parent, isMain);
};

register('./hooks.mjs', import.meta.url, {
  data: {
    exportNames: {
      net: Object.keys(modules.net),
      dgram: Object.keys(modules.dgram),
      dns: Object.keys(modules.dns),
      'dns.promises': Object.keys(modules.dns.promises),
      os: Object.keys(modules.os),
    },
  },
});

// An exception the stack caught at its boundary is a bug in ustack, not in the test: fail.
process.on('exit', () => {
  if (stack.lastInternalError) {
    console.error('ustack: internal error inside the stack:', stack.lastInternalError);
    process.exitCode = 1;
  }
});
