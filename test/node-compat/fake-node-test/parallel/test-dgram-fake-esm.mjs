// Fake test: `import dgram from 'node:dgram'` must give ustack's dgram too.
import '../common/index.js';
import dgram, { createSocket } from 'node:dgram';
import assert from 'node:assert';

assert.strictEqual(createSocket, dgram.createSocket);
const socket = dgram.createSocket('udp4');
assert.ok('ustackSocket' in socket, "dgram is not ustack's");
socket.on('message', (message) => {
  assert.strictEqual(String(message), 'self');
  socket.close();
});
socket.bind(0, '127.0.0.1', () => socket.send('self', socket.address().port, '127.0.0.1'));
