# Echo server, many connections in turn: accept, serve until the client closes, accept the next.
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = 5000
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 0  # stop after COUNT clients (0: never)

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((HOST, PORT))
sock.listen(5)
served = 0
while COUNT == 0 or served < COUNT:
    conn, addr = sock.accept()
    print('connected by', addr, flush=True)
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data)
    conn.close()
    served += 1
sock.close()
