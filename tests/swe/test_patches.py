"""Untrusted patches and search/replace edits, without Docker: safety, the apply chain, nearest lines, the map."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.errors import RepositoryError
from codesolve.tasks.swe.checkout import _made_once, commit_tree, fresh_tree, git, is_repository, mirror_for, tree_diff
from codesolve.tasks.swe.edits import (
    Edit,
    EditError,
    canonical_edits,
    edited_files,
    nearest,
    parse_edits,
    render_edits,
)
from codesolve.tasks.swe.mini import materialise
from codesolve.tasks.swe.patches import (
    PatchFailed,
    PatchRefused,
    apply_patch,
    check_patch,
    edits_to_tests,
    is_test_path,
)
from codesolve.tasks.swe.repomap import FileEntry, Symbol, build_map, excerpt, named_symbols, rank
from tests.swe.swekit import LOOP_LINE, MERGE, REPOS, RIGHT, UNAPPLIABLE, instances


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A fresh checkout of the mini intervals repository."""
    bare = tmp_path / "mirror.git"
    commit = commit_tree(REPOS / "mini__intervals", bare)
    return fresh_tree(bare, commit, tmp_path / "tree")


def one_file_patch(path: str, body: str = "@@ -1 +1 @@\n-a\n+b\n") -> str:
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n{body}"


@pytest.mark.parametrize(
    "path",
    ["../outside.py", "/etc/passwd", "a/../../x.py", ".git/hooks/post-checkout", ".codesolve/runner.py",
     "src/evil.pth", "evil-1.0.dist-info/entry_points.txt", "sitecustomize.py", "pkg/__pycache__/m.cpython-311.pyc",
     ".GIT/config", ".git./hooks/pre-commit", "SiteCustomize.py", "src/EVIL.PTH", '"b/x.py"'],
)  # fmt: skip
def test_unsafe_paths_are_refused_before_any_tool_sees_them(tree: Path, path: str) -> None:
    with pytest.raises(PatchRefused):
        apply_patch(tree, one_file_patch(path))
    assert not (tree.parent / "outside.py").exists()


def test_index_and_ed_style_inputs_are_not_a_way_out(tree: Path) -> None:
    with pytest.raises(PatchRefused, match="leaves the repository"):
        apply_patch(tree, "Index: ../../outside.py\n" + one_file_patch("intervals/merge.py"))
    # An ed script names no file: refused before GNU patch could read it as one.
    with pytest.raises(PatchRefused, match="names no file"):
        apply_patch(tree, "1a\n!touch /tmp/pwned-by-ed\n.\nw\n")


def test_a_symlink_patch_and_a_path_through_a_symlink_are_refused(tree: Path, tmp_path: Path) -> None:
    link = "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc\n"
    with pytest.raises(PatchRefused, match="symbolic link"):
        apply_patch(tree, link)
    (tmp_path / "elsewhere").mkdir()
    (tree / "out").symlink_to(tmp_path / "elsewhere")
    new_file = (
        "diff --git a/out/x.py b/out/x.py\nnew file mode 100644\n--- /dev/null\n+++ b/out/x.py\n@@ -0,0 +1 @@\n+x\n"
    )
    with pytest.raises(PatchRefused, match="symbolic link"):
        apply_patch(tree, new_file)
    assert not (tmp_path / "elsewhere" / "x.py").exists()


def test_the_apply_chain_falls_back_to_fuzz_and_a_failure_keeps_earlier_changes(tree: Path) -> None:
    gold = instances("mini__intervals-1")[0].patch
    # Context that no longer matches exactly, and no index line for --3way to find the base by:
    # git apply and git apply --3way refuse, patch --fuzz applies.
    blind = "\n".join(line for line in gold.splitlines() if not line.startswith("index ")) + "\n"
    merge = tree / "intervals" / "merge.py"
    merge.write_text(merge.read_text().replace("sorted disjoint intervals", "sorted, disjoint intervals"))
    applied = apply_patch(tree, blind)
    assert applied.method == "patch --fuzz"
    assert "start <= out[-1][1]" in merge.read_text()
    before = merge.read_bytes()
    with pytest.raises(PatchFailed, match="does not apply"):
        apply_patch(tree, one_file_patch("intervals/merge.py", "@@ -1 +1 @@\n-no such line\n+x\n"))
    assert merge.read_bytes() == before  # the earlier change survives a failed attempt


HIDDEN = "@@ -0,0 +1 @@\n+import os\n"
VISIBLE = "--- /dev/null\n+++ b/intervals/extra.py\n@@ -0,0 +1 @@\n+x = 1\n"


@pytest.mark.parametrize(
    "headers",
    [
        "--- /dev/null\n+++  b/conftest.py\n",  # two spaces: the pattern once missed it, both tools did not
        "--- /dev/null\n+++ \x0bb/conftest.py\n",  # a space then a vertical tab: only the tools' dry runs see it
        "--- /dev/null\n+++ \"b/conftest.py\"\n",  # a quoted name
        "---  /dev/null\n+++  b/tests/test_planted.py\n",
        "---  a/.git/config\n+++  b/.git/config\n",
    ],
    ids=["two-spaces", "vertical-tab", "quoted", "a-test-file", "git-config"],
)
def test_a_file_the_tools_would_write_is_never_left_unnamed(tree: Path, headers: str, tmp_path: Path) -> None:
    """Whatever header spelling ``git apply`` or GNU ``patch`` reads a file name from, the patch is
    refused, or the file is among the paths it reports (so a planted conftest counts as an edit to
    the tests); ``.git/config`` is never written (``core.fsmonitor`` there ran a command on the
    host's next ``git status``)."""
    marker = tmp_path / "ran"
    body = f"@@ -1,1 +1,2 @@\n [core]\n+\tfsmonitor = touch {marker}\n" if ".git/config" in headers else HIDDEN
    patch = VISIBLE + headers + body
    config = (tree / ".git" / "config").read_bytes()
    try:
        applied = apply_patch(tree, patch)
    except (PatchRefused, PatchFailed):
        applied = None
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=tree, capture_output=True, text=True, check=True
    )
    changed = {line[3:] for line in status.stdout.splitlines()}
    assert (tree / ".git" / "config").read_bytes() == config
    assert not marker.exists()
    if applied is None:
        assert not changed  # a refused or failed patch leaves the tree as it was
    else:
        assert changed <= set(applied.paths), (changed, applied)
        assert {p for p in changed if is_test_path(p)} <= set(edits_to_tests(patch))


def test_our_git_never_runs_a_command_a_repository_config_names(tree: Path, tmp_path: Path) -> None:
    """A repository's own ``core.fsmonitor`` (set here by hand) is not run by our ``git status``."""
    marker = tmp_path / "ran"
    subprocess.run(["git", "config", "core.fsmonitor", f"touch {marker}"], cwd=tree, check=True)
    git(["status", "--porcelain"], tree)
    assert not marker.exists()


def test_test_files_are_recognised() -> None:
    for path in ("tests/test_merge.py", "conftest.py", "pkg/conftest.py", "pytest.ini", "a/test/x.py", "x_test.py",
                 "CONFTEST.py", "Tests/x.py"):  # fmt: skip
        assert is_test_path(path)
    for path in ("intervals/merge.py", "src/flask/testing_utils.py", "contest.py"):
        assert not is_test_path(path)
    assert edits_to_tests(one_file_patch("tests/conftest.py")) == ["tests/conftest.py"]


def test_edits_apply_in_memory_and_git_makes_the_diff(tree: Path) -> None:
    files = edited_files(tree, parse_edits(RIGHT))
    assert list(files) == ["intervals/merge.py"]
    assert (tree / "intervals" / "merge.py").read_text() != files["intervals/merge.py"]  # nothing written yet
    (tree / "intervals" / "merge.py").write_text(files["intervals/merge.py"])
    diff = tree_diff(tree)
    assert diff.startswith("diff --git a/intervals/merge.py b/intervals/merge.py")
    assert check_patch(diff) == ["intervals/merge.py"]


def test_an_edit_asked_only_whether_it_applies_is_not_explained(tree: Path) -> None:
    # (candidates' extraction, normal forms and patches only ask; the debugging round explains)
    with pytest.raises(EditError) as caught:
        edited_files(tree, parse_edits(UNAPPLIABLE), explain=False)
    assert "is not in the file" in str(caught.value)
    assert "|" not in str(caught.value)  # no numbered lines


def test_an_edit_that_does_not_apply_shows_the_nearest_lines(tree: Path) -> None:
    with pytest.raises(EditError) as caught:
        edited_files(tree, parse_edits(UNAPPLIABLE))
    assert "8|         if out and start < out[-1][1]:" in str(caught.value)
    (tree / "pkg").mkdir()
    (tree / "pkg" / "m.py").write_text("a\na\na\n")
    with pytest.raises(EditError, match="occurs more than once"):  # overlapping occurrences count
        edited_files(tree, [Edit("pkg/m.py", "a\na\n", "b\n")])
    with pytest.raises(EditError, match="test file"):
        edited_files(tree, [Edit("tests/conftest.py", "", "import pytest\n")])
    with pytest.raises(EditError, match="leaves the repository"):
        edited_files(tree, [Edit("../x.py", "", "x\n")])


_PATHS = st.from_regex(r"[a-z]{1,8}/[a-z]{1,8}\.py", fullmatch=True)


@given(st.lists(st.tuples(_PATHS, st.text(), st.text()), max_size=4))
def test_rendered_edits_parse_back(raw: list[tuple[str, str, str]]) -> None:
    edits = [Edit(p, s + "\n" if s else "", r + "\n" if r else "") for p, s, r in raw]
    plain = [e for e in edits if not any(m in e.search + e.replace for m in ("=======", "<<<<<<<", ">>>>>>>", "\r"))]
    assert parse_edits(render_edits(plain)) == plain


def test_nearest_finds_the_most_similar_window() -> None:
    text = "\n".join(f"line {i}" for i in range(50)) + "\n    return total + 1\n"
    assert "51|     return total + 1" in nearest(text, "    return total+1\n")


def test_the_map_ranks_the_buggy_file_first_for_its_issue(tree: Path) -> None:
    ranked = rank(build_map(tree), instances("mini__intervals-1")[0].problem_statement)
    assert ranked[0][1].path == "intervals/merge.py"
    assert all(not is_test_path(e.path) for _, e in ranked)


def test_the_mini_set_commits_are_the_instances_base_commits(tmp_path: Path) -> None:
    commits = materialise(REPOS, tmp_path)
    for instance in instances():
        assert commits[instance.repo.replace("/", "__")] == instance.base_commit, instance.instance_id


_LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "def f():\n", "    return 1\n", "\n"]), max_size=12)


@given(_LINES, _LINES)
def test_canonical_edits_rebuild_the_new_file_from_the_old(old: list[str], new: list[str]) -> None:
    before, after = "".join(old), "".join(new)
    edits = canonical_edits({"m.py": before}, {"m.py": after})
    if before == after:
        assert edits == []
        return
    [edit] = edits
    if before:
        assert before.find(edit.search, before.find(edit.search) + 1) < 0  # one occurrence, overlaps counted
        assert before.replace(edit.search, edit.replace, 1) == after
    else:
        assert edit.replace == after


def test_two_ways_to_write_one_fix_are_one_candidate(tree: Path) -> None:
    narrow = parse_edits(RIGHT)
    loop = "    for start, end in sorted(intervals):\n"
    wide = [Edit(MERGE, loop + LOOP_LINE, loop + LOOP_LINE.replace("<", "<="))]
    original = {MERGE: (tree / MERGE).read_text()}
    by_narrow = canonical_edits(original, edited_files(tree, narrow))
    by_wide = canonical_edits(original, edited_files(tree, wide))
    assert render_edits(by_narrow) == render_edits(by_wide)
    assert by_narrow == [Edit(MERGE, LOOP_LINE, LOOP_LINE.replace("<", "<="))]


def test_a_long_file_is_shown_as_the_symbols_the_model_named() -> None:
    text = "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(400))
    entry = FileEntry("m.py", tuple(Symbol(f"f{i}", 1 + 3 * i, "") for i in range(400)))
    shown = excerpt(text, named_symbols("Look at m.py, f7 and f300.", entry), 2000)
    assert "   22| def f7(x):" in shown
    assert "  902|     return x + 300" in shown
    assert "f8(" not in shown
    assert excerpt("short\n", named_symbols("f1", entry), 2000) == "short\n"


def test_a_mirror_made_halfway_is_never_used(tmp_path: Path) -> None:
    def killed(staging: Path) -> None:  # stands for a run killed while committing the mirror
        staging.mkdir()
        (staging / "HEAD").write_text("ref: refs/heads/main\n")
        raise RepositoryError("killed midway")

    with pytest.raises(RepositoryError):
        _made_once(tmp_path / "mini__intervals.git", killed)
    assert list(tmp_path.iterdir()) == []  # no half-made mirror, no staging folder
    mirror = mirror_for(REPOS, "mini/intervals", tmp_path)
    assert mirror == tmp_path / "mini__intervals.git"
    assert is_repository(mirror)
    assert mirror_for(REPOS, "mini/intervals", tmp_path) == mirror  # made once, then found
    assert list(tmp_path.iterdir()) == [mirror]
