"""The `sextant` command line, run as a user runs it (a subprocess), on the flask corpus."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.model_marks import needs_model

ROOT = Path(__file__).resolve().parent.parent


def sextant(*args: str, cwd: Path | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcp_server.cli", *args], capture_output=True, check=False,
                          text=True, timeout=300, cwd=cwd or ROOT, input=stdin,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
                               "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def flask_repo(corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("cli") / "flask"
    shutil.copytree(corpus("flask"), dest)
    return dest


def test_index_json_reports_counts_and_creates_a_self_ignoring_index_dir(
        flask_repo: Path) -> None:
    proc = sextant("index", str(flask_repo), "--no-embed", "--json")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["indexed"] > 100 and stats["symbols"] > 1000 and stats["chunks"] > 1000
    assert stats["skipped"].get("hidden_dir", 0) >= 1
    assert (flask_repo / ".sextant" / ".gitignore").read_text().strip() == "*"
    assert (flask_repo / ".sextant" / "v1" / "store.duckdb").exists()
    again = json.loads(sextant("index", str(flask_repo), "--no-embed", "--json").stdout)
    assert again["indexed"] == 0 and again["unchanged"] == stats["indexed"]


def test_an_index_dir_inside_the_repository_must_be_new_empty_or_an_index(
        tmp_path: Path) -> None:
    """`--index-dir` at a source folder wrote `.gitignore` (`*`) into it, hiding the user's
    files from git and from the index; at the root, the index indexed its own files."""
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "hello.py").write_text("def greet():\n    return 'hi'\n")
    for index_dir in (repo / "pkg", repo):
        proc = sextant("index", str(repo), "--no-embed", "--index-dir", str(index_dir))
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.count("\n") == 1 and "a new or empty folder" in proc.stderr
    assert sorted(p.name for p in (repo / "pkg").iterdir()) == ["hello.py"]
    assert sorted(p.name for p in repo.iterdir()) == ["pkg"]
    new = repo / "idx"
    built = json.loads(sextant("index", str(repo), "--no-embed", "--json", "--index-dir",
                               str(new)).stdout)
    assert built["indexed"] == 1 and (new / ".gitignore").read_text() == "*\n"
    again = json.loads(sextant("index", str(repo), "--no-embed", "--json", "--index-dir",
                               str(new)).stdout)  # its own index is never indexed
    assert (again["indexed"], again["unchanged"]) == (0, 1)
    status = json.loads(sextant("status", "--repo", str(repo), "--json", "--index-dir",
                                str(new)).stdout)
    assert status["files"] == 1 and status["changed_since_indexed"] == 0
    elsewhere = tmp_path / "mine"  # a folder of the user's outside the repository
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("keep\n")
    proc = sextant("index", str(repo), "--no-embed", "--index-dir", str(elsewhere))
    assert proc.returncode == 0, proc.stderr
    assert not (elsewhere / ".gitignore").exists()


def test_search_json_matches_the_spec_shape(flask_repo: Path) -> None:
    sextant("index", str(flask_repo), "--no-embed")
    proc = sextant("search", "--repo", str(flask_repo), "--json", "-k", "5", "--mode", "lexical",
                   "register a URL rule for a view function")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"results", "took_ms", "truncated"}
    hit = out["results"][0]
    assert set(hit) >= {"path", "start_line", "end_line", "symbol", "kind", "language",
                        "score", "snippet"}
    assert any((r["symbol"] or "").endswith("add_url_rule") for r in out["results"])


def test_status_json_lists_languages_and_skip_reasons(flask_repo: Path) -> None:
    sextant("index", str(flask_repo), "--no-embed")
    out = json.loads(sextant("status", "--repo", str(flask_repo), "--json").stdout)
    assert out["languages"]["python"] > 50 and out["skipped"]


def test_summary_command_prints_what_a_directory_uses_and_what_uses_it(
        flask_repo: Path) -> None:
    sextant("index", str(flask_repo), "--no-embed")
    proc = sextant("summary", "--repo", str(flask_repo), "src/flask")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("src/flask/  ")
    used_by = next(ln for ln in lines if ln.strip().startswith("used by: "))
    assert "tests" in used_by.split(": ", 1)[1].split(", ")
    assert any(ln.strip().startswith("external: ") and "werkzeug" in ln for ln in lines)


def test_symbol_command_prints_the_definition(flask_repo: Path) -> None:
    sextant("index", str(flask_repo), "--no-embed")
    proc = sextant("symbol", "--repo", str(flask_repo), "Flask.add_url_rule", "--no-body")
    assert proc.returncode == 0, proc.stderr
    assert "src/flask/sansio/app.py" in proc.stdout


def test_usage_errors_exit_2_and_other_errors_exit_1_with_one_line(tmp_path: Path) -> None:
    assert sextant("search").returncode == 2
    proc = sextant("status", "--repo", str(tmp_path / "missing"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "--repo" in proc.stderr
    proc = sextant("status", "--repo", str(tmp_path))
    assert proc.returncode == 1 and "sextant index" in proc.stderr


def test_invalid_arguments_exit_2_and_what_is_not_found_exits_1_each_with_one_line(
        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "a.py").write_text("def alpha():\n    return 1\n")
    assert sextant("index", str(repo), "--no-embed").returncode == 0
    for args, code, says in [
            (("search", "  "), 2, "query is empty"), (("symbol", ""), 2, "name is empty"),
            (("deps", "../../etc/passwd"), 2, "contains '..'"),
            (("summary", "../.."), 2, "contains '..'"), (("summary", "/etc"), 2, "is absolute"),
            (("symbol", "NoSuchThing"), 1, "NoSuchThing"),
            (("deps", "no/such/file.py"), 1, "not an indexed file"),
            (("summary", "nowhere"), 1, "no indexed files under 'nowhere'")]:
        proc = sextant(*args, "--repo", str(repo))
        assert proc.returncode == code and proc.stdout == "", (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and says in proc.stderr, (args, proc.stderr)


def test_secret_files_are_indexed_only_on_request_and_never_shown(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    (repo / ".env").write_text(f"AWS_ACCESS_KEY_ID={key}\nDATABASE_HOST=db.internal\n")
    (repo / "app.py").write_text("def connect():\n    return 'db.internal'\n")
    default = json.loads(sextant("index", str(repo), "--no-embed", "--json").stdout)
    assert default["skipped"].get("secret") == 1
    opted = json.loads(sextant("index", str(repo), "--no-embed", "--json",
                               "--index-secrets").stdout)
    assert opted["indexed"] == 1 and "secret" not in opted["skipped"]
    out = sextant("search", "--repo", str(repo), "--json", "--mode", "lexical",
                  "AWS_ACCESS_KEY_ID").stdout
    assert ".env" in out and key not in out and "REDACTED" in out


def test_status_reports_files_changed_since_they_were_indexed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for i in range(3):
        (repo / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    sextant("index", str(repo), "--no-embed")
    fresh = json.loads(sextant("status", "--repo", str(repo), "--json").stdout)
    assert fresh["changed_since_indexed"] == 0
    (repo / "m0.py").write_text("def f0():\n    return 'changed'\n")
    (repo / "m1.py").unlink()
    (repo / "new.py").write_text("def g():\n    return 1\n")
    stale = json.loads(sextant("status", "--repo", str(repo), "--json").stdout)
    assert stale["changed_since_indexed"] == 3
    assert "3 files changed since indexed" in sextant("status", "--repo", str(repo)).stdout


def test_status_counts_files_skipped_for_their_content_only_when_they_change(
        tmp_path: Path) -> None:
    """A binary (a NUL byte) or generated file passes the walk's path rules and is skipped
    once read: it is in no index table, and status counted it as new after every build."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def alpha():\n    return 1\n")
    (repo / "sherlock.Z").write_bytes(b"\x1f\x9d\x90\x00binary")
    (repo / "gen.go").write_text("// Code generated by stringer. DO NOT EDIT.\n\npackage x\n")
    built = json.loads(sextant("index", str(repo), "--no-embed", "--json").stdout)
    assert built["skipped"].get("binary") == 1 and built["skipped"].get("generated") == 1
    proc = sextant("status", "--repo", str(repo))
    assert proc.returncode == 0, proc.stderr
    assert "freshness: up to date" in proc.stdout
    (repo / "sherlock.Z").write_bytes(b"\x1f\x9d\x90\x00binary, longer")
    stale = json.loads(sextant("status", "--repo", str(repo), "--json").stdout)
    assert stale["changed_since_indexed"] == 1
    sextant("index", str(repo), "--no-embed")
    assert json.loads(sextant("status", "--repo", str(repo), "--json").stdout)[
        "changed_since_indexed"] == 0


def test_queries_refresh_the_index_first_unless_told_not_to(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def alpha():\n    return 1\n")
    (repo / "b.py").write_text("def beta():\n    return 2\n")
    sextant("index", str(repo), "--no-embed")
    (repo / "a.py").write_text("def alpha():\n    return 1\n\n\ndef zebra_quokka():\n    return 3\n")
    (repo / "b.py").unlink()

    stale = sextant("search", "--repo", str(repo), "--json", "--mode", "lexical", "--no-refresh",
                    "zebra_quokka")
    assert stale.returncode == 0, stale.stderr
    assert not any(r["symbol"] == "zebra_quokka" for r in json.loads(stale.stdout)["results"])
    assert json.loads(sextant("status", "--repo", str(repo), "--json").stdout)[
        "changed_since_indexed"] == 2  # status reports staleness, it does not repair it

    proc = sextant("search", "--repo", str(repo), "--json", "--mode", "lexical", "zebra_quokka")
    assert proc.returncode == 0, proc.stderr
    top = json.loads(proc.stdout)["results"][0]
    assert (top["path"], top["symbol"], top["start_line"]) == ("a.py", "zebra_quokka", 5)
    assert "refreshed the index first (1 changed, 1 deleted files)" in proc.stderr
    gone = sextant("symbol", "--repo", str(repo), "--json", "beta")
    assert "b.py" not in gone.stdout
    assert json.loads(sextant("status", "--repo", str(repo), "--json").stdout)[
        "changed_since_indexed"] == 0


def test_a_refresh_keeps_the_options_of_the_last_index(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "big.py").write_text("def large_module_fn():\n    return 0\n" + "x = 1\n" * 400)
    (repo / "small.py").write_text("def small():\n    return 0\n")
    sextant("index", str(repo), "--no-embed", "--max-file-bytes", "1000")  # big.py: too large
    (repo / "small.py").write_text("def small():\n    return 1\n")
    proc = sextant("search", "--repo", str(repo), "--json", "--mode", "lexical", "large_module_fn")
    assert "refreshed the index first (1 changed" in proc.stderr
    assert not any(r["path"] == "big.py" for r in json.loads(proc.stdout)["results"])
    status = json.loads(sextant("status", "--repo", str(repo), "--json").stdout)
    assert status["skipped"].get("too_large") == 1
    assert status["changed_since_indexed"] == 0  # big.py is walked with that limit too


@pytest.mark.parametrize(("args", "valid"), [
    (("serve", "--port", "99999"), "from 0 to 65535"),
    (("search", "anything", "-k", "0"), "from 1 to 100"),
    (("search", "anything", "--path", "["), "never closed"),
    (("deps", "Flask", "--depth", "9"), "from 1 to 4"),
    (("eval", "-n", "0"), ">= 1"),
])
def test_out_of_range_numbers_and_malformed_globs_are_usage_errors_saying_what_is_valid(
        tmp_path: Path, args: tuple[str, ...], valid: str) -> None:
    proc = sextant(*args, "--repo", str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"sextant {args[0]}: error: argument ") and valid in last, proc.stderr


def test_an_unknown_option_after_a_command_shows_that_commands_usage() -> None:
    proc = sextant("search", "anything", "--no-such-flag")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: sextant search ")
    assert proc.stderr.strip().endswith("unrecognized arguments: --no-such-flag")


def test_every_option_of_every_command_has_help_that_shows_its_default() -> None:
    from mcp_server.cli import build_parser, subcommand_parsers

    parsers = subcommand_parsers(build_parser())
    assert {"index", "search", "symbol", "deps", "summary", "status", "serve", "model"} <= set(
        parsers)
    for name, parser in parsers.items():
        actions = [a for a in parser._actions if a.dest != "help"]
        assert all(a.help for a in actions), (name, [a.dest for a in actions if not a.help])
        listed = re.split(r"\n  (?=-)", parser.format_help().split("options:", 1)[1])
        shown = {entry.split()[0]: entry for entry in listed if entry.startswith("-")}
        for action in actions:
            if action.option_strings:
                assert "default" in shown[action.option_strings[0]], (name, action.dest)


def test_a_symbol_that_is_not_found_is_reported_on_stderr_and_json_stays_valid(
        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def alpha():\n    return 1\n")
    sextant("index", str(repo), "--no-embed")
    proc = sextant("symbol", "--repo", str(repo), "NoSuchThing")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "NoSuchThing" in proc.stderr
    proc = sextant("symbol", "--repo", str(repo), "--json", "NoSuchThing")
    assert proc.returncode == 1 and json.loads(proc.stdout)["symbols"] == []
    assert "NoSuchThing" in proc.stderr
    proc = sextant("symbol", "--repo", str(repo), "alpha", "--path", "lib")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no definition of 'alpha' in 'lib'" in proc.stderr and "a.py" in proc.stderr


def test_search_and_context_import_no_mcp_sdk_when_no_server_owns_the_index(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def alpha():\n    return 1\n")
    assert sextant("index", str(repo), "--no-embed").returncode == 0
    code = ("import sys; from mcp_server.cli import main; "
            f"rc = main(['search', '--repo', {str(repo)!r}, '--json', 'alpha']); "
            f"rc += main(['context', '--repo', {str(repo)!r}, 'what does alpha return']); "
            "print(rc, sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
                               "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 []"


@needs_model
def test_model_setup_readies_the_static_table_so_the_first_index_need_not_distil_it() -> None:
    """`sextant model setup` (the README's commands run it first) distils the static tier's
    table unless cached: the first `sextant index` loads it from the cache."""
    proc = sextant("model", "setup", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert "-static-" in info["static_table"] and "unavailable" not in info["static_table"]
    from indexer.embed.static import load_static_embedder

    cached = load_static_embedder(Path(info["path"]), distil=False)  # raises if not cached
    assert cached.model_id in info["static_table"]


def test_context_command_answers_a_task_within_its_budget_from_an_argument_or_stdin(
        flask_repo: Path) -> None:
    sextant("index", str(flask_repo), "--no-embed")
    task = "register a URL rule for a view function on the application"
    proc = sextant("context", "--repo", str(flask_repo), "--json", "--max-tokens", "2000", task)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert 0 < out["tokens"] <= 2000 and out["task"] == task
    assert any((i["symbol"] or "").endswith("add_url_rule") for i in out["items"])
    assert all(set(i) >= {"path", "start_line", "end_line", "kind", "text"} for i in out["items"])

    traceback = ('Traceback (most recent call last):\n'
                 '  File "src/flask/app.py", line 1, in wsgi_app\n'
                 '  File "src/flask/ctx.py", line 1, in push\n'
                 'RuntimeError: Working outside of application context.\n')
    piped = sextant("context", "--repo", str(flask_repo), "--max-tokens", "3000", "-",
                    stdin=traceback)
    assert piped.returncode == 0, piped.stderr
    # what the model reads over MCP: a header, then each body under `## path:lines kind name`
    assert piped.stdout.startswith("context for the task:")
    assert re.search(r"^## src/flask/ctx\.py:\d+-\d+ method \S*push\b", piped.stdout,
                     re.MULTILINE)

    empty = sextant("context", "--repo", str(flask_repo), "  ")
    assert empty.returncode == 2 and empty.stdout == ""
    assert empty.stderr.count("\n") == 1 and "task is empty" in empty.stderr
    long = sextant("context", "--repo", str(flask_repo), "session " * 4000)  # as MCP: 20k chars
    assert long.returncode == 2 and long.stdout == "" and "32,000 characters" in long.stderr
