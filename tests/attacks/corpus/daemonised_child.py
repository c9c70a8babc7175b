# A setsid daemon that outlives the call and keeps writing.
# expect: 2 | must return the expected value
import os, time
def attack():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open("/proc/self/comm", "w") as comm:  # a name the test can look for
                comm.write("fdl-daemon")
            while True:
                time.sleep(0.1)
        os._exit(0)
    return 41
