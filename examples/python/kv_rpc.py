# The key-value RPC from the notes: an 8-byte header (version, length; struct "ii") before a JSON
# body; GET and PUT; host = socket.gethostname() on both sides, as the note has it ("client and
# server are both running on same host"). `python3 kv_rpc.py server`, then
# `python3 kv_rpc.py client PUT name value` / `python3 kv_rpc.py client GET name`.
import json
import socket
import time
from multiprocessing import Process
import os
import sys
import struct

dictionary = {}


# { obj: name }
# { obj: name, val: dictionary }
# value can be arbitrary
def get(params):
    name = params["obj"]
    entry = dictionary.get(name)
    retval = {"obj": name, "val": entry}
    return retval


# {obj:name, val: dictionary}
# {obj:name, response:response}
def put(params):
    name = params["obj"]
    val = params["val"]
    dictionary[name] = val
    retval = {"obj": name, "response": "ok"}
    return retval


# {func: func, params: params}
# {func: func, response: response}
def make_call(msg):
    func = msg["func"]
    param = msg["params"]
    if (func == "GET"):
        return {"func": "GET", "response": get(param)}
    elif (func == "PUT"):
        return {"func": "PUT", "response": put(param)}
    else:
        return {"func": func, "response": "ERROR - Function doesn't exist"}


def recv_message(conn):
    header = conn.recv(8)
    if len(header) < 8:
        return None
    (version, data_len) = struct.unpack("ii", header)
    data = conn.recv(data_len).decode()
    return json.loads(data)


def send_message(conn, json_dict):
    json_blob = json.dumps(json_dict)
    len_blob = len(json_blob)
    hdr = struct.pack("ii", 1, len_blob)
    conn.send(hdr)
    conn.send(json_blob.encode())


def server_program(count=0):
    host = socket.gethostname()
    port = 4444
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen()
    print("listening on", server.getsockname(), flush=True)
    served = 0
    while count == 0 or served < count:
        conn, addr = server.accept()
        print("got message from ", addr, flush=True)
        data = recv_message(conn)
        if data:
            result = make_call(data)
            print("result", result, flush=True)
            send_message(conn, {"status": "OK", "response": result})
        else:
            send_message(conn, {"status": "ERROR"})
        conn.close()
        served += 1
    server.close()
    return None


def client_do_single_call(call):
    host = socket.gethostname()  # client and server are both running on same host
    port = 4444  # socket server port number
    client_socket = socket.socket()  # instantiate
    client_socket.connect((host, port))  # connect to the server
    send_message(client_socket, call)
    json_dict = recv_message(client_socket)
    client_socket.close()  # close the connection
    return json_dict


if __name__ == "__main__":
    if sys.argv[1:2] == ["server"]:
        server_program(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    elif sys.argv[1:3] == ["client", "PUT"]:
        print(json.dumps(client_do_single_call({"func": "PUT", "params": {"obj": sys.argv[3], "val": sys.argv[4]}})))
    elif sys.argv[1:3] == ["client", "GET"]:
        print(json.dumps(client_do_single_call({"func": "GET", "params": {"obj": sys.argv[3]}})))
    else:
        # Both on one host, as the note: the server in a child process (fork), then two calls.
        server = Process(target=server_program, args=(2,))
        server.start()
        time.sleep(0.5)
        print(json.dumps(client_do_single_call({"func": "PUT", "params": {"obj": "color", "val": "blue"}})))
        print(json.dumps(client_do_single_call({"func": "GET", "params": {"obj": "color"}})))
        server.join()
