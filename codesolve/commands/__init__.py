"""Subcommands of the codesolve CLI, one module each."""
