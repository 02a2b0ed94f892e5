"""A program that never answers the MCP handshake. Writes its pid to the file named in argv[1]."""

import os
import sys
import time

with open(sys.argv[1], "w") as file:
    file.write(str(os.getpid()))
while True:
    time.sleep(3600)
