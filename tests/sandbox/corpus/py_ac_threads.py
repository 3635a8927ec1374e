import threading

parts = [0] * 4
all_started = threading.Barrier(4)


def work(t: int) -> None:
    all_started.wait()  # the four threads are alive at the same time
    parts[t] = sum(range(t, 1000, 4))


threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(sum(parts))
