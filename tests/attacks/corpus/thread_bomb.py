# Starting threads until the limit.
# expect: 2 | can't start new thread || RuntimeError || crashed || Time limit
import threading, time
def attack():
    while True:
        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
