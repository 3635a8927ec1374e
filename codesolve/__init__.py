"""codesolve: S*-style test-time scaling for code generation.

Generate N candidates, debug them against public tests in Docker sandboxes,
then select among survivors by adaptive input synthesis and a judge grounded
on real execution output.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
