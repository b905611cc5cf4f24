# TCPClient from the notes: connect (the handshake), send a line, print the reply.
from socket import *
import sys

serverName = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # the line to pick the host
serverPort = 12000
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
sentence = input('Input lowercase sentence:')
clientSocket.send(sentence.encode())
modifiedSentence = clientSocket.recv(1024)
print('From Server:', modifiedSentence.decode())
clientSocket.close()
