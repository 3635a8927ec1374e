import os
import time

# Three children spin 0.5 s of CPU each, one after the other: each stays under its own
# per-process CPU rlimit, but together they spend 1.5 s, over the test's 1 s budget.
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        start = time.process_time()
        while time.process_time() - start < 0.5:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
print("children done")
