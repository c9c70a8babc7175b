# Ignoring SIGTERM and SIGXCPU, then spinning.
# expect: 2 | Time limit
import signal
def attack():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    while True:
        pass
