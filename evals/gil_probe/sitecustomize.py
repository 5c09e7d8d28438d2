"""A GIL probe for benchmark runs of `sextant serve` (`python -m evals.load_test --gil-probe`).

Imported at start-up by a process whose PYTHONPATH holds this directory (the load test puts
it there for the server it starts, nothing else does). With `SEXTANT_GIL_PROBE` naming a
file, a daemon thread sleeps 2 ms at a time and records how much longer than that it took to
run again: the time it waited for the GIL (and for a core). Each second it appends a JSON
line to the file: the wall time and that second's waits in ms. A server whose threads want
more Python than one core runs shows waits of about the switch interval (5 ms) and more.
"""

from __future__ import annotations

import json
import os
import threading
import time


def _probe(path: str) -> None:
    nap = 0.002
    with open(path, "a", encoding="utf-8") as out:
        waits: list[float] = []
        second = time.time()
        while True:
            started = time.perf_counter()
            time.sleep(nap)
            waits.append(round((time.perf_counter() - started - nap) * 1000, 2))
            if time.time() - second >= 1.0:
                second = time.time()
                out.write(json.dumps({"t": second, "waits_ms": waits}) + "\n")
                out.flush()
                waits = []


_PATH = os.environ.pop("SEXTANT_GIL_PROBE", "")  # this process only, not its workers
if _PATH:
    threading.Thread(target=_probe, args=(_PATH,), daemon=True, name="gil-probe").start()
