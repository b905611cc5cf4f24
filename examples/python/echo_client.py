# Echo client: connect, send each line of stdin, print what comes back, close.
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = 5000

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect((HOST, PORT))
for line in sys.stdin:
    message = line.rstrip('\n').encode()
    sock.sendall(message)
    received = b''
    while len(received) < len(message):
        data = sock.recv(1024)
        if not data:
            break
        received += data
    print('received', received.decode(), flush=True)
sock.close()
