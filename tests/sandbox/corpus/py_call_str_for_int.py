def count_positive(values: list[int]) -> str:
    return str(sum(1 for v in values if v > 0))  # a string where a number is expected
