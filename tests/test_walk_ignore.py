"""Ignore-file semantics of the walker: .gitignore (checked against git itself), .ignore,
.sextantignore, .git/info/exclude, and single-path checks for the watcher."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.discover.ignore import RuleKind, compile_rules
from indexer.discover.walk import (
    FileEntry,
    IgnoreCache,
    SkippedFile,
    SkipReason,
    WalkOptions,
    is_path_ignored,
    walk,
)


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def indexed(root: Path, opts: WalkOptions | None = None) -> set[str]:
    return {item.path for item in walk(root, opts) if isinstance(item, FileEntry)}


def skipped(root: Path, opts: WalkOptions | None = None) -> dict[str, SkippedFile]:
    return {item.path: item for item in walk(root, opts) if isinstance(item, SkippedFile)}


RICH_TREE = {
    ".gitignore": """# comment
*.log
!keep.log
/anchored.txt
build/
out/*
!out/keep.txt
cache/
!cache/inside.txt
docs/**/gen.md
!later.txt
later*.txt
name-only
\\#hash.txt
""",
    "a.log": "",
    "keep.log": "",
    "anchored.txt": "",
    "later.txt": "",
    "later2.txt": "",
    "#hash.txt": "",
    "main.py": "",
    "name-only": "",
    "sub/anchored.txt": "",
    "sub/x.log": "",
    "sub/keep.log": "",
    "sub/build": "a file named build is not a directory",
    "sub/name-only/file.txt": "",
    "build/artifact.txt": "",
    "out/drop.txt": "",
    "out/keep.txt": "",
    "cache/inside.txt": "",
    "docs/gen.md": "",
    "docs/a/b/gen.md": "",
    "docs/readme.md": "",
    "nested/.gitignore": "*.txt\n!important.txt\n/local-only\n",
    "nested/a.txt": "",
    "nested/important.txt": "",
    "nested/important.log": "",
    "nested/local-only": "",
    "nested/deep/b.txt": "",
    "nested/deep/local-only": "",
    "nested/deep/.gitignore": "!b.txt\n",
    "important.txt": "",
}


def git_visible_files(root: Path) -> set[str]:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
    ).stdout
    return {p for p in out.decode().split("\0") if p}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gitignore_rules_select_exactly_the_files_git_would_track(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    expected = git_visible_files(tmp_path)
    assert indexed(tmp_path) == expected


def test_nested_gitignore_applies_relative_to_its_directory(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    files = indexed(tmp_path)
    assert "important.txt" in files  # nested/.gitignore's *.txt stays inside nested/
    assert "nested/a.txt" not in files
    assert "nested/local-only" not in files  # /local-only is anchored to nested/
    assert "nested/deep/local-only" in files


def test_negation_in_a_deeper_gitignore_re_includes_a_file(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    files = indexed(tmp_path)
    assert "nested/deep/b.txt" in files
    assert "nested/important.txt" in files
    assert "keep.log" in files and "sub/keep.log" in files
    assert "a.log" not in files and "nested/important.log" not in files


def test_later_rules_override_earlier_ones(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    assert "later.txt" not in indexed(tmp_path)


def test_directory_only_pattern_skips_the_directory_once_and_not_a_same_named_file(
    tmp_path: Path,
) -> None:
    make_tree(tmp_path, RICH_TREE)
    skips = skipped(tmp_path)
    assert skips["build/"].reason == SkipReason.GITIGNORED
    assert skips["build/"].detail == ".gitignore: build/"
    assert not any(p.startswith("build/") and p != "build/" for p in skips)
    assert "sub/build" in indexed(tmp_path)


def test_file_cannot_be_re_included_inside_an_excluded_directory(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    files = indexed(tmp_path)
    assert "cache/inside.txt" not in files  # `cache/` excludes the directory itself
    assert "out/keep.txt" in files  # `out/*` excludes only the entries, so `!` works
    assert "out/drop.txt" not in files


def test_double_star_matches_any_depth(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    files = indexed(tmp_path)
    assert "docs/gen.md" not in files and "docs/a/b/gen.md" not in files
    assert "docs/readme.md" in files


def test_git_info_exclude_at_the_root_is_honoured(tmp_path: Path) -> None:
    make_tree(
        tmp_path, {".git/info/exclude": "secret-notes.txt\n", "secret-notes.txt": "", "a.py": ""}
    )
    skips = skipped(tmp_path)
    assert skips["secret-notes.txt"].reason == SkipReason.GITIGNORED
    assert skips["secret-notes.txt"].detail == ".git/info/exclude: secret-notes.txt"
    assert indexed(tmp_path) == {"a.py"}


def test_sextantignore_negation_overrides_gitignore(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            ".gitignore": "*.gen\n",
            ".sextantignore": "!keep.gen\n",
            "keep.gen": "",
            "drop.gen": "",
        },
    )
    assert indexed(tmp_path) == {".gitignore", ".sextantignore", "keep.gen"}


def test_ignore_file_excludes_what_gitignore_re_includes_with_reason_ignored(
    tmp_path: Path,
) -> None:
    make_tree(
        tmp_path,
        {
            ".gitignore": "*.txt\n!notes.txt\n",
            "sub/.ignore": "notes.txt\n",
            "sub/notes.txt": "",
            "notes.txt": "",
        },
    )
    skips = skipped(tmp_path)
    assert skips["sub/notes.txt"].reason == SkipReason.IGNORED
    assert skips["sub/notes.txt"].detail == "sub/.ignore: notes.txt"
    assert "notes.txt" in indexed(tmp_path)


def test_extra_ignore_patterns_act_as_a_root_sextantignore(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a/fixtures/big.json": "", "a/code.py": "", "fixtures/x.py": ""})
    opts = WalkOptions(extra_ignore=("fixtures/",))
    assert indexed(tmp_path, opts) == {"a/code.py"}
    assert skipped(tmp_path, opts)["a/fixtures/"].reason == SkipReason.IGNORED


def test_bad_pattern_is_dropped_and_the_rest_of_the_file_still_applies(tmp_path: Path) -> None:
    make_tree(tmp_path, {".gitignore": "!\n*.tmp\n", "a.tmp": "", "b.py": ""})
    assert indexed(tmp_path) == {".gitignore", "b.py"}


# --- single paths ------------------------------------------------------------------------


def test_is_path_ignored_agrees_with_walk_on_every_path(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    cache = IgnoreCache(tmp_path)
    for rel in RICH_TREE:
        expected = rel in indexed(tmp_path)
        assert (is_path_ignored(tmp_path, rel, cache=cache) is None) == expected, rel


def test_is_path_ignored_reports_the_excluded_ancestor_directory(tmp_path: Path) -> None:
    make_tree(tmp_path, RICH_TREE)
    result = is_path_ignored(tmp_path, "cache/inside.txt")
    assert result == SkippedFile(
        "cache/inside.txt", "gitignored", ".gitignore: cache/; under cache/"
    )


def test_is_path_ignored_checks_paths_that_no_longer_exist(tmp_path: Path) -> None:
    make_tree(tmp_path, {".gitignore": "*.log\nnode_modules\n"})
    assert is_path_ignored(tmp_path, "gone/x.log") is not None
    assert is_path_ignored(tmp_path, "gone/x.py") is None
    vendored = is_path_ignored(tmp_path, "web/node_modules/pkg/index.js", WalkOptions())
    assert vendored is not None and vendored.reason == SkipReason.GITIGNORED
    assert is_path_ignored(tmp_path, ".git/HEAD") == SkippedFile(
        ".git/HEAD", "hidden_dir", "under .git/"
    )


def test_is_path_ignored_applies_vendored_secret_and_binary_name_rules(tmp_path: Path) -> None:
    make_tree(tmp_path, {"venv/pyvenv.cfg": "", "x.py": ""})
    reasons = {
        rel: getattr(is_path_ignored(tmp_path, rel), "reason", None)
        for rel in ("vendor/lib.go", "venv/lib/site.py", ".env", "logo.png", "x.py")
    }
    assert reasons == {
        "vendor/lib.go": "vendored",
        "venv/lib/site.py": "vendored",
        ".env": "secret",
        "logo.png": "binary",
        "x.py": None,
    }


def test_ignore_cache_serves_stale_rules_until_the_directory_is_invalidated(
    tmp_path: Path,
) -> None:
    make_tree(tmp_path, {"sub/.gitignore": "*.tmp\n", "sub/a.tmp": "", "sub/b.dat": ""})
    cache = IgnoreCache(tmp_path)
    assert is_path_ignored(tmp_path, "sub/a.tmp", cache=cache) is not None
    (tmp_path / "sub/.gitignore").write_text("*.dat\n")
    assert is_path_ignored(tmp_path, "sub/b.dat", cache=cache) is None  # cached
    cache.invalidate("sub")
    assert is_path_ignored(tmp_path, "sub/b.dat", cache=cache) is not None
    assert is_path_ignored(tmp_path, "sub/a.tmp", cache=cache) is None


def test_ignore_cache_note_changed_invalidates_only_for_ignore_files(tmp_path: Path) -> None:
    make_tree(tmp_path, {".gitignore": "", "a.tmp": ""})
    cache = IgnoreCache(tmp_path)
    assert is_path_ignored(tmp_path, "a.tmp", cache=cache) is None
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    assert cache.note_changed("a.tmp") is False
    assert cache.note_changed(".gitignore") is True
    assert is_path_ignored(tmp_path, "a.tmp", cache=cache) is not None


PREFILTER_PATTERNS = [
    "*.log", "!keep.log", "/top", "build/", "a/**/b", "**/c/*.py", "x?z", "[ab]*.txt",
    "!a/b", "d/", "!d/e", r"\!bang", "sp\\ ace", "**/deep/**",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "x", "top", "build", "deep", "keep.log",
                              "f.log", "g.py", "xyz", "a.txt", "!bang"]),
             min_size=1, max_size=5),
    st.booleans(),
)  # fmt: skip
def test_ignore_prefilter_never_changes_a_decision(parts: list[str], is_dir: bool) -> None:
    rules = compile_rules(".gitignore", RuleKind.GIT, PREFILTER_PATTERNS)
    assert rules is not None and rules.prefilter is not None
    key = "/".join(parts) + ("/" if is_dir else "")
    expected = rules.spec.check_file(key)
    assert rules.check(key) == (expected.include, expected.index)
