# Resolving a host name.
# expect: 2 | gaierror || Errno || OSError || resolution
import socket
def attack():
    socket.getaddrinfo("deb.debian.org", 80)
    return 42
