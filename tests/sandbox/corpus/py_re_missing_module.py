import definitely_not_a_module_codesolve  # noqa: F401

print("unreachable")
