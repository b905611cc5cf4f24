'use strict';
// Fake test that fails: the runner must report it.
require('../common');
const assert = require('assert');
assert.strictEqual(require('net').isIP('127.0.0.1'), 6, 'deliberate failure');
