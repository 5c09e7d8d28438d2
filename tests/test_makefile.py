"""The README's `make run`, launched by a stdio MCP client: its stdout is the protocol, so
everything make runs before the server writes to stderr, and make echoes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_recipe() -> list[str]:
    """The lines of the `run` target's recipe, as written in the Makefile."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index("run:") + 1
    recipe = []
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:])
    return recipe


def test_make_run_echoes_none_of_its_commands() -> None:
    recipe = run_recipe()
    assert recipe and all(line.startswith("@") for line in recipe), recipe


def test_make_run_sends_the_output_of_every_command_before_serve_to_stderr(
        tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # -n prints the commands instead of running them (the recursive `$(MAKE) setup` runs,
    # itself with -n, its output on stderr); the venv does not exist, so nothing is built.
    proc = subprocess.run(
        [make, "-s", "-n", "-C", str(ROOT), "run", f"REPO={tmp_path}",
         f"VENV={tmp_path / 'venv'}"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    commands = [line.split("  #", 1)[0].strip() for line in proc.stdout.splitlines()]
    *before, last = commands
    assert last == f"exec {tmp_path / 'venv'}/bin/sextant serve --repo {tmp_path}"
    assert len(before) == 2 and all(c.endswith(">&2") for c in before), before
    assert "setup" in before[0] and "sextant index" in before[1]


def makefile_cmake_args(tmp_path: Path) -> list[str]:
    """`CMAKE_ARGS` as the Makefile exports them to the llama-cpp-python build."""
    show = tmp_path / "show.mk"
    show.write_text(f"include {ROOT / 'Makefile'}\nshow:\n\t@echo $(CMAKE_ARGS)\n")
    env = {k: v for k, v in os.environ.items()  # the Makefile's default, not a caller's
           if k not in ("CMAKE_ARGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-s", "-f", str(show), "show"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def common_library_setting(tmp_path: Path, cmake: str, args: list[str]) -> str:
    """Configure a two-level project shaped like llama-cpp-python's (its CMakeLists forces
    LLAMA_BUILD_COMMON on, then adds llama.cpp's project) and report the setting llama.cpp
    sees."""
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "llama.cpp"
    inner.mkdir(parents=True, exist_ok=True)
    (outer / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.14)\nproject(llama_cpp_python NONE)\n"
        'set(LLAMA_BUILD_COMMON ON CACHE BOOL "" FORCE)\nadd_subdirectory(llama.cpp)\n')
    (inner / "CMakeLists.txt").write_text(
        'project("llama.cpp" NONE)\noption(LLAMA_BUILD_COMMON "common" ON)\n'
        'message(STATUS "common=${LLAMA_BUILD_COMMON}")\n')
    build = tmp_path / f"build-{len(args)}"
    out = subprocess.run([cmake, "-S", str(outer), "-B", str(build), *args],
                         capture_output=True, text=True, check=True).stdout
    return next(line.split("common=")[1] for line in out.splitlines() if "common=" in line)


def test_the_llama_cpp_build_leaves_out_the_common_library_the_wheel_forces_on(
        tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None or shutil.which("make") is None:
        pytest.skip("cmake and make are needed to configure a project (make setup has both)")
    args = makefile_cmake_args(tmp_path)
    assert any(a.startswith("-DCMAKE_PROJECT_INCLUDE=") for a in args), args
    assert common_library_setting(tmp_path, cmake, []) == "ON"  # what the wheel does alone
    assert common_library_setting(tmp_path, cmake, args) == "OFF"
