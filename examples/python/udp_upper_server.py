# UDPServer from the notes: one socket serves every client; the reply goes to the sender's address.
from socket import *
import sys

serverName = sys.argv[1] if len(sys.argv) > 1 else ''  # the line to pick the host ('' binds every address)
serverPort = 12000
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind((serverName, serverPort))
print('The server is ready to receive', flush=True)
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.decode().upper()
    serverSocket.sendto(modifiedMessage.encode(), clientAddress)
