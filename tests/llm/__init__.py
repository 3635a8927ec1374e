"""Tests of codesolve.llm: end to end through the real openai client and the scripted server."""
