"""`distinct`: np.unique's values without importing numpy.ma in the process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from indexer.core.arrays import distinct


def test_distinct_equals_numpys_unique() -> None:
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 17, 5000):
        for dtype in (np.int64, np.uint64, np.intp):
            values = rng.integers(0, max(n // 3, 1), n).astype(dtype)
            got = distinct(values)
            assert got.dtype == values.dtype
            assert np.array_equal(got, np.unique(values))


def test_distinct_does_not_import_numpy_ma() -> None:
    code = ("import sys, numpy as np\nfrom indexer.core.arrays import distinct\n"
            "distinct(np.array([3, 1, 3]))\nprint('numpy.ma' in sys.modules)\n"
            "np.unique(np.array([3, 1, 3]))\nprint('numpy.ma' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]  # numpy's own unique does import it
