def pair(a: int, b: int) -> tuple[int, int]:
    return (min(a, b), max(a, b))
