# Echo server, many connections at once with selectors (non-blocking sockets, one thread).
import selectors
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = 5000
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 0  # stop after COUNT clients have left (0: never)

sel = selectors.DefaultSelector()
served = 0


def accept(sock):
    conn, addr = sock.accept()
    print('connected by', addr, flush=True)
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, echo)


def echo(conn):
    global served
    data = conn.recv(1024)
    if data:
        conn.sendall(data)
    else:
        sel.unregister(conn)
        conn.close()
        served += 1


lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind((HOST, PORT))
lsock.listen()
lsock.setblocking(False)
sel.register(lsock, selectors.EVENT_READ, accept)
while COUNT == 0 or served < COUNT:
    for key, mask in sel.select():
        key.data(key.fileobj)
sel.close()
lsock.close()
