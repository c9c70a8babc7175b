# Connecting out to the network (to send the notebook or fetch answers).
# expect: 2 | OSError || Network is unreachable || Errno
import socket
def attack():
    socket.create_connection(("1.1.1.1", 80), timeout=2).close()
    return 42
