# Finds the interactor running beside it (a checker program reading its input through
# /proc/self/fd) and kills it, then exits 0: a judge that dies this way is the program's doing.
# Its own interactor only: on the local backend /proc shows the whole machine, and killing every
# interactor found there made other tests' judges die (a pytest worker beside this one). Ours is
# the one whose stdout is our stdin, where its descriptors can be read (root); else the one the
# process that started our fork server (the driver) started too; in a container, the only one.
import os
import signal


def parent(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rpartition(b")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def judges():
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    cmdline = fh.read()
            except OSError:
                continue
            if b"/chk/" in cmdline and b"/proc/self/fd/" in cmdline:
                yield int(name)


def ours(found):
    stdin = os.readlink("/proc/self/fd/0")
    for pid in found:
        try:
            if os.readlink(f"/proc/{pid}/fd/1") == stdin:
                return [pid]
        except OSError:
            pass
    driver = parent(os.getppid())
    siblings = [pid for pid in found if driver is not None and parent(pid) == driver]
    return siblings or (found if len(found) == 1 else [])


for pid in ours(list(judges())):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
