"""Each program is compiled once (the agent's artefact cache), and no test can tamper with
what a later batch of the same program gets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from sandbox import DockerConfig, Limits, Program, Sandbox, TestCase, Verdict, open_sandbox
from sandbox.runtime.artefacts import Artefact, ArtefactCache

pytestmark = pytest.mark.anyio

LIMITS = Limits(cpu_seconds=2, wall_seconds=5)

# Replaces its own binary (unlink, then a script at the same path) and every other main.bin it
# can find under the work dir, then answers; a later run of the program must be the original.
TAMPER = r"""
#include <cstdio>
#include <cstring>
#include <string>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
static void plant(const std::string& path) {
    unlink(path.c_str());
    FILE* f = fopen(path.c_str(), "w");
    if (f) { fputs("#!/bin/sh\necho HACKED\n", f); fclose(f); chmod(path.c_str(), 0755); }
}
static void walk(const std::string& dir, int depth) {
    if (depth > 6) return;
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name, path = dir + "/" + name;
        if (name == "." || name == "..") continue;
        if (name == "main.bin") plant(path);
        else if (e->d_type == DT_DIR) walk(path, depth + 1);
    }
    closedir(d);
}
int main(int argc, char** argv) {
    char word[64] = {0};
    if (scanf("%63s", word) != 1) return 1;
    if (!strcmp(word, "tamper")) { plant(argv[0]); walk("/sandbox", 0); walk("/tmp", 0); }
    puts(strcmp(word, "tamper") ? "clean" : "ok");
    return 0;
}
"""


@pytest.fixture
async def one_container(docker_available: bool) -> AsyncIterator[Sandbox]:
    """A pool of one: every batch meets the same agent, so its cache is always in play."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    async with open_sandbox(DockerConfig(pool_size=1)) as box:
        yield box


async def test_a_test_cannot_tamper_with_the_binary_a_later_batch_gets(one_container: Sandbox) -> None:
    program = Program.single("cpp", TAMPER)
    first = await one_container.run_tests(
        program, [TestCase(stdin="tamper", expected="ok\n"), TestCase(stdin="x", expected="clean\n")], LIMITS
    )
    assert [o.verdict for o in first] == [Verdict.AC, Verdict.AC], first
    started = time.monotonic()
    again = await one_container.run_tests(program, [TestCase(stdin="x", expected="clean\n")], LIMITS)
    assert again[0].verdict is Verdict.AC, again
    # Compiled once: the second batch took the binary from the agent's memory (a static g++
    # build of this file takes far longer than a whole one-test batch here).
    assert time.monotonic() - started < 5.0


async def test_a_compile_error_is_the_same_from_the_cache(one_container: Sandbox) -> None:
    for language, source in (("cpp", "int main( { return 0; }\n"), ("python", "def f(:\n    pass\n")):
        program = Program.single(language, source)
        outcomes = [await one_container.run_tests(program, [TestCase(stdin="", expected="")], LIMITS) for _ in range(2)]
        assert [o[0].verdict for o in outcomes] == [Verdict.CE, Verdict.CE], outcomes
        assert outcomes[0][0].message == outcomes[1][0].message


async def test_a_syntax_check_passed_under_larger_limits_is_not_reused_under_smaller_ones(
    one_container: Sandbox,
) -> None:
    # The key holds the limits the check ran under: both batches pass, each checked as asked.
    program = Program.single("python", "print(input())\n")
    for limits in (LIMITS, Limits(cpu_seconds=1, wall_seconds=3, memory_mb=64)):
        outcomes = await one_container.run_tests(program, [TestCase(stdin="7", expected="7\n")], limits)
        assert outcomes[0].verdict is Verdict.AC, outcomes


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = ArtefactCache(cap_bytes=3000)
    blob = (("main.bin", b"x" * 1000, 0o755),)
    for key in "abc":
        cache.put(key, Artefact(blob))
    assert cache.get("a") is None  # three of ~1256 bytes do not fit in 3000
    assert cache.get("c") is not None
    cache.put("d", Artefact(blob))
    assert cache.get("b") is None  # "c" was used more recently
    assert cache.get("c") is not None
    cache.put("huge", Artefact((("main.bin", b"x" * 5000, 0o755),)))
    assert cache.get("huge") is None
    assert cache.get("c") is not None


# Its first run rewrites its own file: with a syntax error, then (second run) with code that
# prints a wrong answer. The syntax check was the first run's own, so neither may reach a
# later run: the file is restored before each, and only the checked bytes are ever compiled.
REWRITE = """import os, sys
n = int(sys.stdin.read())
here = os.path.abspath(__file__)
os.unlink(here)
with open(here, "w") as fh:
    fh.write("print('HACKED')\\n" if n == 2 else "def broken(:\\n")
print(n * 2)
"""


async def test_a_program_rewriting_itself_after_its_syntax_check_runs_as_checked(one_container: Sandbox) -> None:
    tests = [TestCase(stdin=f"{n}\n", expected=f"{2 * n}\n", name=f"t{n}") for n in (1, 2, 3, 4)]
    program = Program.single("python", REWRITE + f"# {time.time()}\n")  # new to the container
    outcomes = await one_container.run_tests(program, tests, LIMITS)
    assert [o.verdict for o in outcomes] == [Verdict.AC] * 4, outcomes
    again = await one_container.run_tests(program, tests[:1], LIMITS)  # from the cache
    assert again[0].verdict is Verdict.AC, again


async def test_a_syntax_error_is_ce_for_every_test_and_costs_no_run_of_the_program(one_container: Sandbox) -> None:
    program = Program.single("python", f"print('ran')\ndef broken(:\n    pass\n# {time.time()}\n")
    tests = [TestCase(stdin="", expected="ran\n", name=f"t{i}") for i in range(3)]
    outcomes = await one_container.run_tests(program, tests, LIMITS)
    assert [o.verdict for o in outcomes] == [Verdict.CE] * 3, outcomes
    assert "SyntaxError" in outcomes[0].stderr.text
    assert outcomes[0].stdout.text == "", "nothing of the program ran"
