'use strict';
// Fake test: an echo through `net`, which must be ustack's (its sockets expose ustackConnection).
const common = require('../common');
const assert = require('assert');
const net = require('net');

const server = net.createServer(
  common.mustCall((socket) => {
    assert.ok(socket.ustackConnection, "net is not ustack's");
    socket.pipe(socket);
  }),
);
server.listen(
  0,
  common.localhostIPv4,
  common.mustCall(() => {
    const client = net.connect(
      server.address().port,
      common.localhostIPv4,
      common.mustCall(() => client.end('ping')),
    );
    let text = '';
    client.setEncoding('utf8');
    client.on('data', (data) => (text += data));
    client.on(
      'end',
      common.mustCall(() => {
        assert.strictEqual(text, 'ping');
        server.close();
      }),
    );
  }),
);
