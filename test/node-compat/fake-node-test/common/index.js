// A stand-in for Node's test/common (same layout, a tiny part of its API), so the
// compatibility runner can be tested without Node's suite. Written for ustack.
'use strict';
const assert = require('assert');

const pending = [];

/** Wraps fn; the process fails at exit unless it was called `times` times. */
function mustCall(fn = () => {}, times = 1) {
  const record = { calls: 0, times, name: fn.name || '<anonymous>' };
  pending.push(record);
  return function (...args) {
    record.calls++;
    return fn.apply(this, args);
  };
}

process.on('exit', (code) => {
  if (code !== 0) return;
  for (const record of pending) {
    if (record.calls !== record.times) {
      console.error(`Mismatched ${record.name} function calls. Expected exactly ${record.times}, actual ${record.calls}.`);
      process.exitCode = 1;
    }
  }
});

module.exports = { mustCall, localhostIPv4: '127.0.0.1', assert };
