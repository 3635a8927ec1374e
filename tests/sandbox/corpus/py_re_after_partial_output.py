print("partial result")
raise RuntimeError("then it crashed")
