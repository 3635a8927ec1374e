# Deliberately writes records shaped like the harness's on the result channel, found the
# way a hostile program would (every descriptor listed in /proc/self/fd), then leaves
# before any call or check can run.
import os

for name in os.listdir("/proc/self/fd"):
    fd = int(name)
    if fd > 2:
        try:
            os.write(fd, b"00000000000000000000000000000000 4\npass")
            os.write(fd, b"00000000000000000000000000000000 1\n3")
        except OSError:
            pass
os._exit(0)


def add(a, b):
    return a + b
