"""File discovery: skip reasons, symlinks, special files, reading and decoding."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from indexer.discover.walk import (
    FileEntry,
    SkippedFile,
    SkipReason,
    WalkOptions,
    content_skip_reason,
    decode_text,
    is_path_ignored,
    read_file,
    walk,
)

RUNNING_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def make_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def outcome(root: Path, opts: WalkOptions | None = None) -> dict[str, str]:
    """path -> "file" or the skip reason."""
    return {
        item.path: "file" if isinstance(item, FileEntry) else item.reason
        for item in walk(root, opts)
    }


def entry_for(root: Path, rel: str) -> FileEntry:
    found = [i for i in walk(root) if isinstance(i, FileEntry) and i.path == rel]
    assert found, f"{rel} was not yielded"
    return found[0]


def test_walk_yields_posix_relative_paths_with_size_and_mtime_in_sorted_order(
    tmp_path: Path,
) -> None:
    make_tree(tmp_path, {"b.py": "x = 1\n", "a/z.py": "", "a/b/c.py": "", "A.md": "# t\n"})
    items = list(walk(tmp_path))
    assert [i.path for i in items] == ["A.md", "a/b/c.py", "a/z.py", "b.py"]
    entry = items[-1]
    assert isinstance(entry, FileEntry)
    stat = (tmp_path / "b.py").stat()
    assert (Path(entry.abs_path), entry.size, entry.mtime_ns) == (tmp_path / "b.py", 6,
                                                                  stat.st_mtime_ns)


def test_walk_of_a_file_raises_with_advice(tmp_path: Path) -> None:
    make_tree(tmp_path, {"f.py": ""})
    with pytest.raises(NotADirectoryError, match="pass a repository root"):
        walk(tmp_path / "f.py")


def test_vcs_and_index_directories_are_reported_once_and_never_entered(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            ".git/HEAD": "",
            ".git/objects/ab/cd": "",
            ".sextant/index.db": "",
            ".hg/x": "",
            "m.py": "",
        },
    )
    assert outcome(tmp_path) == {
        ".git/": "hidden_dir",
        ".hg/": "hidden_dir",
        ".sextant/": "hidden_dir",
        "m.py": "file",
    }


def test_git_file_of_a_worktree_is_skipped_as_hidden(tmp_path: Path) -> None:
    make_tree(tmp_path, {".git": "gitdir: ../main/.git/worktrees/x\n", "m.py": ""})
    assert outcome(tmp_path) == {".git": "hidden_dir", "m.py": "file"}


def test_vendored_directories_are_reported_once_and_not_descended(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "web/node_modules/react/index.js": "",
            "web/node_modules/react/lib/a.js": "",
            "vendor/github.com/x/y.go": "",
            "third_party/lib.c": "",
            "bower_components/x.js": "",
            "lib/python3.11/site-packages/pkg/__init__.py": "",
            "app.py": "",
        },
    )
    assert outcome(tmp_path) == {
        "app.py": "file",
        "bower_components/": "vendored",
        "lib/python3.11/site-packages/": "vendored",
        "third_party/": "vendored",
        "vendor/": "vendored",
        "web/node_modules/": "vendored",
    }


def test_virtualenvs_are_detected_by_pyvenv_cfg_or_by_name_with_an_activate_script(
    tmp_path: Path,
) -> None:
    make_tree(
        tmp_path,
        {
            "myenv/pyvenv.cfg": "home = /usr\n",
            "myenv/lib/x.py": "",
            ".venv/bin/activate": "",
            "env/bin/activate": "",
            "venv/Scripts/activate": "",
            "config/env/settings.py": "",  # an `env` package, not a virtualenv
        },
    )
    assert outcome(tmp_path) == {
        ".venv/": "vendored",
        "config/env/settings.py": "file",
        "env/": "vendored",
        "myenv/": "vendored",
        "venv/": "vendored",
    }


def test_skip_vendored_false_indexes_vendored_code(tmp_path: Path) -> None:
    make_tree(tmp_path, {"vendor/lib.go": "", "node_modules/a/i.js": ""})
    opts = WalkOptions(skip_vendored=False)
    assert outcome(tmp_path, opts) == {"node_modules/a/i.js": "file", "vendor/lib.go": "file"}


def test_lockfiles_minified_names_source_maps_and_caches_are_generated(tmp_path: Path) -> None:
    names = ["package-lock.json", "yarn.lock", "Cargo.lock", "go.sum", "poetry.lock", "uv.lock"]
    names += ["app.min.js", "site.min.css", "app.js.map", "__pycache__/m.cpython-311.pyc"]
    make_tree(tmp_path, {name: "x" for name in names} | {"package.json": "{}"})
    result = outcome(tmp_path)
    assert result.pop("package.json") == "file"
    assert result.pop("__pycache__/") == "generated"
    assert set(result.values()) == {"generated"} and len(result) == len(names) - 1


def test_binary_extensions_are_skipped_without_reading(tmp_path: Path) -> None:
    make_tree(tmp_path, {"logo.PNG": "not really", "lib.so": "", "a.pyc": "", "doc.pdf": ""})
    assert set(outcome(tmp_path).values()) == {"binary"}


@pytest.mark.parametrize(
    "rel",
    [".env", ".env.local", "id_rsa", "id_ed25519.pub", "server.pem", "tls.key", "cert.p12",
     "store.pfx", "app.keystore", ".netrc", ".npmrc", "credentials.json", "home/.aws/credentials",
     "vault.kdbx"],
)  # fmt: skip
def test_secret_files_are_skipped_by_name(tmp_path: Path, rel: str) -> None:
    make_tree(tmp_path, {rel: "TOKEN=abc"})
    assert outcome(tmp_path) == {rel: "secret"}


def test_index_secrets_true_indexes_credential_files(tmp_path: Path) -> None:
    make_tree(tmp_path, {".env": "A=1", "k.pem": ""})
    assert outcome(tmp_path, WalkOptions(index_secrets=True)) == {".env": "file", "k.pem": "file"}


def test_an_aws_credentials_name_elsewhere_is_not_a_secret(tmp_path: Path) -> None:
    make_tree(tmp_path, {"docs/credentials": "how to configure credentials"})
    assert outcome(tmp_path) == {"docs/credentials": "file"}


def test_files_over_max_file_bytes_are_too_large(tmp_path: Path) -> None:
    make_tree(tmp_path, {"big.txt": "x" * 101, "ok.txt": "x" * 100})
    skipped = [
        i for i in walk(tmp_path, WalkOptions(max_file_bytes=100)) if isinstance(i, SkippedFile)
    ]
    assert skipped == [SkippedFile("big.txt", "too_large", "101 bytes > 100")]


# --- symlinks ----------------------------------------------------------------------------


def test_symlink_leaving_the_root_is_skipped(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"secret.py": "", "d/x.py": ""})
    root = make_tree(tmp_path / "repo", {"a.py": ""})
    (root / "f.py").symlink_to(outside / "secret.py")
    (root / "d").symlink_to(outside / "d")
    (root / "rel").symlink_to("../outside")
    assert outcome(root) == {"a.py": "file", "d": "symlink_outside", "f.py": "symlink_outside", "rel": "symlink_outside"}  # fmt: skip


def test_symlinked_file_inside_the_root_is_indexed_under_the_links_path(tmp_path: Path) -> None:
    make_tree(tmp_path, {"src/real.py": "x = 1\n"})
    (tmp_path / "alias.py").symlink_to("src/real.py")
    entry = entry_for(tmp_path, "alias.py")
    assert entry.size == 6
    assert read_file(entry, WalkOptions()) == b"x = 1\n"


def test_symlink_to_an_ancestor_directory_terminates_as_a_loop(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a/b/x.py": ""})
    (tmp_path / "a/b/up").symlink_to("..")
    (tmp_path / "a/b/root").symlink_to(tmp_path)
    assert outcome(tmp_path) == {"a/b/root/": "symlink_loop", "a/b/up/": "symlink_loop", "a/b/x.py": "file"}  # fmt: skip


def test_cycle_of_symlinks_is_a_loop(tmp_path: Path) -> None:
    (tmp_path / "p").symlink_to("q")
    (tmp_path / "q").symlink_to("p")
    assert outcome(tmp_path) == {"p": "symlink_loop", "q": "symlink_loop"}


def test_symlinked_directory_is_followed_once_and_a_second_path_is_a_duplicate(
    tmp_path: Path,
) -> None:
    make_tree(tmp_path, {"real/x.py": ""})
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "zlink").symlink_to("real")
    assert outcome(tmp_path) == {"link/x.py": "file", "real/": "duplicate", "zlink/": "duplicate"}


def test_dangling_symlink_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "gone.py").symlink_to("missing.py")
    assert outcome(tmp_path) == {"gone.py": "unreadable"}


def test_follow_symlinks_false_skips_every_link(tmp_path: Path) -> None:
    make_tree(tmp_path, {"real/x.py": ""})
    (tmp_path / "link").symlink_to("real")
    opts = WalkOptions(follow_symlinks_inside_root=False)
    assert outcome(tmp_path, opts) == {"link": "symlink", "real/x.py": "file"}


def test_symlink_is_matched_by_ignore_rules_as_a_file(tmp_path: Path) -> None:
    make_tree(tmp_path, {".gitignore": "link\n", "real/x.py": ""})
    (tmp_path / "link").symlink_to("real")
    assert outcome(tmp_path)["link"] == "gitignored"


# --- special and unreadable files --------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_special_in_walk_and_read_file_does_not_block_on_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert outcome(tmp_path) == {"pipe": "special"}
    fake = FileEntry("pipe", tmp_path / "pipe", 0, 0)
    assert read_file(fake, WalkOptions()) == SkippedFile("pipe", "special", "fifo")


def test_file_vanishing_before_it_is_read_is_unreadable(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": "x"})
    entry = entry_for(tmp_path, "a.py")
    (tmp_path / "a.py").unlink()
    result = read_file(entry, WalkOptions())
    assert isinstance(result, SkippedFile) and result.reason == SkipReason.UNREADABLE
    assert result.detail.startswith("ENOENT")


def test_file_grown_past_the_limit_after_the_walk_is_too_large(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.txt": "small"})
    opts = WalkOptions(max_file_bytes=10)
    entry = next(i for i in walk(tmp_path, opts) if isinstance(i, FileEntry))
    (tmp_path / "a.txt").write_text("much larger now")
    assert read_file(entry, opts) == SkippedFile("a.txt", "too_large", "15 bytes > 10")


def test_directory_removed_while_walking_is_reported_unreadable(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a/x.py": "", "b/y.py": "", "c.py": ""})
    items = walk(tmp_path)
    first = next(items)  # the walk streams: b/ has not been listed yet
    shutil.rmtree(tmp_path / "b")
    rest = list(items)
    assert first.path == "a/x.py"
    assert [(i.path, getattr(i, "reason", "file")) for i in rest] == [
        ("b/", "unreadable"),
        ("c.py", "file"),
    ]


def test_permission_error_on_open_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a.py": "x"})
    entry = entry_for(tmp_path, "a.py")

    def denied(path: object, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", denied)  # works even when the tests run as root
    assert read_file(entry, WalkOptions()) == SkippedFile(
        "a.py", "unreadable", "EACCES: Permission denied"
    )


def test_relative_root_yields_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"pkg/a.py": ""})
    monkeypatch.chdir(tmp_path)
    entry = entry_for(Path("."), "pkg/a.py")
    assert Path(entry.abs_path) == tmp_path / "pkg/a.py"


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root reads files regardless of permissions")
def test_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": "x"})
    (tmp_path / "a.py").chmod(0)
    entry = entry_for(tmp_path, "a.py")
    result = read_file(entry, WalkOptions())
    assert isinstance(result, SkippedFile) and result.reason == SkipReason.UNREADABLE


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root lists directories regardless of permissions")
def test_directory_without_permission_is_reported_unreadable(tmp_path: Path) -> None:
    make_tree(tmp_path, {"locked/a.py": "", "b.py": ""})
    (tmp_path / "locked").chmod(0)
    try:
        assert outcome(tmp_path) == {"b.py": "file", "locked/": "unreadable"}
    finally:
        (tmp_path / "locked").chmod(0o755)


# --- content -----------------------------------------------------------------------------

OPTS = WalkOptions()


def reason_of(data: bytes, path: str = "f") -> str | None:
    skip = content_skip_reason(path, data, OPTS)
    return None if skip is None else skip.reason


def test_nul_byte_in_the_first_8_kib_is_binary() -> None:
    assert reason_of(b"abc\0def") == "binary"
    assert reason_of(b"a\n" * 4500 + b"\0") is None


@pytest.mark.parametrize(
    "header",
    [
        b"// Code generated by protoc-gen-go. DO NOT EDIT.\n\npackage x\n",
        b"# Generated by the protocol buffer compiler.  DO NOT EDIT!\n",
        b"/*\n * Copyright 2024\n * @generated\n */\nexport const x = 1;\n",
        b"# This file is automatically @generated by Cargo.\n",
        b"// Copyright\n// License\n\n// Code generated by mockgen; DO NOT EDIT.\n",
    ],
)
def test_generated_headers_are_detected(header: bytes) -> None:
    assert reason_of(header) == "generated"


def test_generator_source_quoting_the_header_in_code_is_not_generated() -> None:
    code = b'package gen\n\nconst header = "// Code generated by tool. DO NOT EDIT."\n'
    assert reason_of(code) is None


def test_generated_marker_beyond_the_header_is_ignored() -> None:
    assert reason_of(b"x = 1\n" * 1000 + b"# generated, do not edit\n") is None


def test_long_average_line_is_minified_but_short_files_are_not() -> None:
    one_line = b"var a=1;" * 400  # 3200 bytes, one line
    assert reason_of(one_line) == "minified"
    assert reason_of(b"var a=1;" * 200) is None  # 1600 bytes: under minified_min_bytes


def test_a_single_very_long_line_in_normal_code_is_minified() -> None:
    code = b"x = 1\n" * 5000 + b"data = '" + b"A" * 25_000 + b"'\n"
    skip = content_skip_reason("f.py", code, OPTS)
    assert skip == SkippedFile("f.py", "minified", "a line of 25009 bytes")


def test_ordinary_code_with_some_long_lines_is_indexed() -> None:
    code = (b"def f():\n    return 1\n" + b"# " + b"x" * 900 + b"\n") * 20
    assert reason_of(code) is None


def test_decode_text_strips_the_bom_and_replaces_invalid_bytes() -> None:
    assert decode_text(b"\xef\xbb\xbfhello") == "hello"
    assert decode_text("caf\u00e9".encode("latin-1")) == "caf\ufffd"
    assert decode_text("h\u00e9".encode()) == "h\u00e9"


def test_utf16_with_bom_is_text_not_binary() -> None:
    data = "x = 'h\u00e9'\n".encode("utf-16")
    assert reason_of(data) is None
    assert decode_text(data) == "x = 'h\u00e9'\n"


def test_non_utf8_file_is_read_and_decoded_with_replacement(tmp_path: Path) -> None:
    make_tree(tmp_path, {"legacy.c": "/* caf\u00e9 */\n".encode("latin-1")})
    data = read_file(entry_for(tmp_path, "legacy.c"), OPTS)
    assert isinstance(data, bytes) and content_skip_reason("legacy.c", data, OPTS) is None
    assert decode_text(data) == "/* caf\ufffd */\n"


# --- names that are not UTF-8 -----------------------------------------------------------


def test_names_that_are_not_utf8_are_skipped_shown_with_escapes_and_never_entered(
    tmp_path: Path,
) -> None:
    make_tree(tmp_path, {"a.py": "", "z.py": ""})
    base = os.fsencode(tmp_path)
    os.mkdir(base + b"/d\xe9r")
    for name in (b"/bad\xe9.py", b"/d\xe9r/in.py"):
        with open(base + name, "wb") as f:
            f.write(b"x = 1\n")
    assert outcome(tmp_path) == {"a.py": "file", "bad\\xe9.py": "non_utf8_name",
                                 "d\\xe9r/": "non_utf8_name", "z.py": "file"}
    skip = is_path_ignored(tmp_path, os.fsdecode(b"d\xe9r/in.py"))
    assert skip is not None and skip.reason == "non_utf8_name"
    assert skip.path == "d\\xe9r/in.py" and skip.detail.endswith("under d\\xe9r/")


# --- depth -------------------------------------------------------------------------------


@contextmanager
def nested(root: Path, depth: int, name: str, content: bytes) -> Iterator[str]:
    """`depth` directories `d/` under `root` with the file `name` at the bottom, for the
    block; yields the file's path. Made through directory descriptors and removed one level
    at a time from the top: `os.makedirs` and `shutil.rmtree` (pytest's clean-up) recurse."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, content)
        os.close(out)
    finally:
        os.close(fd)
    try:
        yield "d/" * depth + name
    finally:
        top, spare = root / "d", root / "d.spare"
        while top.is_dir():
            if (top / "d").is_dir():
                (top / "d").rename(spare)
            for path in top.iterdir():
                path.unlink()
            top.rmdir()
            if spare.is_dir():
                spare.rename(top)


def test_a_tree_deeper_than_the_recursion_limit_is_walked_whole_in_order(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py": "", "z.py": ""})
    with nested(tmp_path, sys.getrecursionlimit(), "deep.py", b"x = 1\n") as deep:
        assert [i.path for i in walk(tmp_path)] == ["a.py", deep, "z.py"]


# --- a real repository -------------------------------------------------------------------


def test_flask_walk_yields_sources_and_honours_its_gitignore(
    corpus: Callable[[str], Path],
) -> None:
    root = corpus("flask")
    items = list(walk(root))
    files = {i.path for i in items if isinstance(i, FileEntry)}
    assert "src/flask/app.py" in files and "pyproject.toml" in files
    assert not any(p == ".git" or p.startswith(".git/") for p in files)
    assert all(is_clean(root, p) for p in files)
    assert [i.path for i in items] == [i.path for i in walk(root)]  # deterministic


def is_clean(root: Path, rel: str) -> bool:
    """Not matched by flask's own root .gitignore (checked with pathspec directly)."""
    from pathspec import GitIgnoreSpec

    spec = GitIgnoreSpec.from_lines((root / ".gitignore").read_text().splitlines())
    parts = rel.split("/")
    dirs = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts) - 1)]
    return not any(spec.match_file(p) for p in [*dirs, rel])


def test_a_walk_interns_none_of_the_names_it_meets(tmp_path: Path) -> None:
    """A `Path` interns each part of itself: one for every file made the interpreter's
    table of interned strings hold every directory and file name of the tree (a table that
    only grows: 3.8 MB more in a moby server after its first `index_status`)."""
    make_tree(tmp_path, {"qx-dir-7f3/qx-file-7f3.py": "x = 1\n"})
    items = list(walk(tmp_path))  # kept alive: an interned string lives while it is used
    assert [i.path for i in items] == ["qx-dir-7f3/qx-file-7f3.py"]
    for name in ("qx-dir-7f3", "qx-file-7f3.py"):
        probe = "".join(["qx-", name[3:]])  # a new str, equal to the name
        assert sys.intern(probe) is probe, f"{name} was interned by the walk"
