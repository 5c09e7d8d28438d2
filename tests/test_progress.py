"""The CLI progress bar: its line from plain numbers, and when it is drawn."""

from __future__ import annotations

import io

from mcp_server.progress import Progress, render


class Terminal(io.StringIO):
    """What the bar writes, as a terminal would receive it."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_render_shows_the_count_the_rate_and_the_time_left() -> None:
    line = render(50, 200, "indexing", elapsed=10.0)
    assert "[#######-----------------------] 50/200" in line
    assert "5.0/s" in line and "ETA 30s" in line


def test_render_measures_the_rate_from_where_the_phase_started() -> None:
    line = render(150, 1000, "embedding", elapsed=4.0, start=100)
    assert "12/s" in line and "ETA 1m08s" in line  # 50 items in 4 s; 850 left at 12.5/s


def test_render_of_a_finished_phase_gives_its_duration_instead_of_an_eta() -> None:
    line = render(200, 200, "indexing", elapsed=3725.0)
    assert "200/200" in line and "in 1h02m" in line and "ETA" not in line
    assert render(200, 200, "indexing", elapsed=0.21).endswith("in 0.2s")


def test_render_without_a_total_or_before_any_progress_shows_no_rate() -> None:
    assert render(0, 10, "indexing", elapsed=5.0).endswith("0/10")
    assert render(7, None, "embedding", elapsed=0.0).split() == ["embedding", "7"]
    assert "/s" in render(7, None, "embedding", elapsed=2.0)


def test_progress_is_silent_when_stderr_is_not_a_terminal() -> None:
    out = io.StringIO()
    Progress(out)(1, 2, "indexing")
    assert out.getvalue() == ""


def test_progress_redraws_only_when_the_line_changes() -> None:
    term, clock = Terminal(), Clock()
    bar = Progress(term, clock=clock)
    bar(0, 100, "indexing")
    clock.now += 1
    bar(0, 100, "indexing")  # a second later, still nothing counted: the same line
    assert term.getvalue().count("\r") == 1
    bar(10, 100, "indexing")
    assert term.getvalue().count("\r") == 2 and term.getvalue().endswith("10/100  10/s  ETA 9.0s")


def test_progress_draws_at_most_ten_times_a_second_but_always_the_end() -> None:
    term, clock = Terminal(), Clock()
    bar = Progress(term, clock=clock)
    for done in range(1, 100):
        clock.now += 0.001
        bar(done, 100, "indexing")
    assert term.getvalue().count("\r") == 1  # the first report only
    bar(100, 100, "indexing")
    bar(100, 100, "indexing")  # a repeated final report draws nothing more
    assert term.getvalue().count("\r") == 2 and term.getvalue().endswith("\n")
    assert term.getvalue().count("\n") == 1


def test_a_new_phase_starts_its_own_line_and_rate() -> None:
    term, clock = Terminal(), Clock()
    bar = Progress(term, clock=clock)
    bar(0, 10, "indexing")
    clock.now += 1
    bar(5, 10, "indexing")
    clock.now += 1
    bar(0, 4, "embedding")
    clock.now += 2
    bar(2, 4, "embedding")
    lines = term.getvalue().split("\n")
    assert len(lines) == 2 and "5/10" in lines[0]
    assert lines[1].rsplit("\r", 1)[-1].split() == ["embedding", "[###############---------------]",
                                                   "2/4", "1.0/s", "ETA", "2.0s"]
