// ESM loader hooks for the Node compatibility runner: `import net from 'node:net'` (and 'net',
// 'dgram', 'node:dgram', 'dns', 'node:dns', 'dns/promises', 'node:dns/promises', 'os') in a test
// resolves to the in-process ustack stack's modules, which preload.mjs publishes on globalThis
// before any test code runs.

const mapped = new Map([
  ['net', 'net'],
  ['node:net', 'net'],
  ['dgram', 'dgram'],
  ['node:dgram', 'dgram'],
  ['dns', 'dns'],
  ['node:dns', 'dns'],
  ['dns/promises', 'dns.promises'],
  ['node:dns/promises', 'dns.promises'],
  ['os', 'os'],
  ['node:os', 'os'],
]);

/** Export names of each module, sent by preload.mjs. */
let exportNames = { net: [], dgram: [], dns: [], 'dns.promises': [], os: [] };

export function initialize(data) {
  if (data?.exportNames) exportNames = data.exportNames;
}

export async function resolve(specifier, context, nextResolve) {
  const name = mapped.get(specifier);
  if (name) return { url: `ustack-builtin:${name}`, shortCircuit: true };
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('ustack-builtin:')) {
    const name = url.slice('ustack-builtin:'.length);
    const names = exportNames[name] ?? [];
    // `name` is a property path of the published modules: `net`, `dns.promises`.
    const source = [
      `const m = globalThis[Symbol.for('ustack.nodeModules')].${name};`,
      'export default m;',
      ...names.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default').map((n) => `export const ${n} = m[${JSON.stringify(n)}];`),
    ].join('\n');
    return { format: 'module', source, shortCircuit: true };
  }
  return nextLoad(url, context);
}
