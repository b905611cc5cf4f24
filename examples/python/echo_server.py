# Echo server, one connection (04-sockets-primer.md: socket, bind, listen, accept, recv, send, close).
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # the line to pick the host
PORT = 5000

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((HOST, PORT))
sock.listen(1)
conn, addr = sock.accept()
print('connected by', addr, flush=True)
while True:
    data = conn.recv(1024)
    if not data:
        break
    conn.sendall(data)
conn.close()
sock.close()
