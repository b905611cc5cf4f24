// Preloaded (`node --import`) into each Node test the compatibility runner starts: one ustack
// Stack owning 127.0.0.1 and ::1 (its loopback interface), driven in real time, whose `net` and
// `dgram` replace Node's for `require()` and `import` alike. The test files stay unedited.
import Module from 'node:module';
import { register } from 'node:module';

const dist = process.env.USTACK_DIST;
if (!dist) throw new Error('node-compat preload: USTACK_DIST (the compiled dist/src directory) is not set');
const { Stack } = await import(`${dist}/socket-api/stack.js`);
const { RealtimeDriver } = await import(`${dist}/socket-api/realtime-driver.js`);
const { createNodeModules } = await import(`${dist}/socket-api/node-modules.js`);
const dns = await import('node:dns');

const stack = new Stack({ name: 'node-compat', seed: Number(process.env.USTACK_SEED ?? 1) });
new RealtimeDriver(stack).start();
// Names resolve as in Node: through dns.lookup (looked up at each call, so tests may replace it).
const modules = createNodeModules(stack, { lookup: (...args) => dns.default.lookup(...args) });
globalThis[Symbol.for('ustack.nodeModules')] = modules;

const replaced = new Map([
  ['net', modules.net],
  ['node:net', modules.net],
  ['dgram', modules.dgram],
  ['node:dgram', modules.dgram],
]);
const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  const replacement = replaced.get(request);
  return replacement ?? originalLoad.call(this, request, parent, isMain);
};

register('./hooks.mjs', import.meta.url, {
  data: { exportNames: { net: Object.keys(modules.net), dgram: Object.keys(modules.dgram) } },
});

// An exception the stack caught at its boundary is a bug in ustack, not in the test: fail.
process.on('exit', () => {
  if (stack.lastInternalError) {
    console.error('ustack: internal error inside the stack:', stack.lastInternalError);
    process.exitCode = 1;
  }
});
