"""Where a file lives, by its path: a test (or test data), or a place of lower value to a
question about the project's own code (vendored copies, examples, docs, benchmarks).

One definition for what reads it: the model tier embeds such files last
(`indexer.live.priority`), search ranks them lower (`tools.search.path_prior`), and the
history remembers a commit by its other files (`indexer.commits`)."""

from __future__ import annotations

import re

TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|testing|testdata|fixtures?)(/|$)|(^|/)test_[^/]*$"
    r"|_test\.[a-z]+$|\.(test|spec)\.[a-z]+$|Tests?\.[a-z]+$")
LOW_VALUE_PATH = re.compile(
    r"(^|/)(vendor|third_party|node_modules|examples?|docs?|benchmarks?)(/|$)")
