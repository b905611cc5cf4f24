// Flags: --expose-internals
'use strict';
// Fake test the runner must leave out of the portable set.
require('../common');
