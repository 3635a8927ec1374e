def ratio(a: float, b: float) -> float:
    return float("nan") if b == 0 else a / b
