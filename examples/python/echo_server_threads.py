# Echo server, one thread per client.
import socket
import sys
import threading

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = 5000
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 0  # stop accepting after COUNT clients (0: never)


def serve(conn, addr):
    print('connected by', addr, flush=True)
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((HOST, PORT))
sock.listen()
threads = []
while COUNT == 0 or len(threads) < COUNT:
    conn, addr = sock.accept()
    thread = threading.Thread(target=serve, args=(conn, addr))
    thread.start()
    threads.append(thread)
for thread in threads:
    thread.join()
sock.close()
