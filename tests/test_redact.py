"""Secret hygiene: credential files are never indexed, and secrets inside ordinary files are
redacted from every tool answer (unit tests of tools.redact, then end to end over MCP).

Fake secrets are assembled at run time so that no secret-shaped literal sits in the source.
"""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.core.tokens import count_tokens
from tests.mcp_helpers import build_index, call, connected, server_settings
from tools.models import Freshness, SearchHit, SearchResult
from tools.redact import redact, redact_model, redact_text

AWS_KEY = "AKIA" + "Q7ZJ5KX2M4N6P8R3"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8sT2vW1x"
GH_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8"
SLACK = "xoxb-" + "123456789012-210987654321-" + "AbCdEfGhIjKlMnOpQrStUvWx"
GOOGLE = "AIza" + "SyD4f9Kq2Lm7Np3Rs8Tv1Wx6Yz0Ab5Cd9Ef"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
JWT = ("eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0"
       + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM_BODY = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2r6HYm0mX\nq3RzQ2xs5Vj9QeGzV8y1bOpA7tK2Xw"
PEM = ("-----BEGIN " + "RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----")
CANARY_SECRETS = [AWS_KEY, GH_TOKEN, SLACK, GOOGLE, STRIPE, JWT]


def test_each_high_confidence_secret_kind_is_replaced_by_a_marker() -> None:
    for secret in CANARY_SECRETS:
        out = redact_text(f"token = '{secret}'  # used by deploy")
        assert secret not in out and "[REDACTED" in out, out
        assert out.startswith("token = '") and out.endswith("'  # used by deploy")


def test_a_private_key_block_is_redacted_whole_in_any_quoting() -> None:
    escaped = PEM.replace("\n", "\\n")
    for text in (PEM, f'KEY = """{PEM}"""', f'KEY = "{escaped}"'):
        out = redact_text(text)
        assert "PRIVATE KEY" not in out and "MIIEpAIBAAKCAQEA" not in out, out
        assert "[REDACTED:private-key]" in out


def test_a_private_key_cut_before_its_end_line_is_still_redacted() -> None:
    cut = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\n" + PEM_BODY + "\n"
    out = redact_text("x = 1\n" + cut)
    assert out.startswith("x = 1\n[REDACTED") and "MIIEpA" not in out


def test_an_aws_secret_key_is_redacted_where_it_is_assigned_by_name() -> None:
    out = redact_text(f'aws_secret_access_key = "{AWS_SECRET}"')
    assert out == 'aws_secret_access_key = "[REDACTED:aws-secret]"'


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_no_match_of_any_pattern_is_missed_by_the_prefilter(data: st.DataObject) -> None:
    """The cheap test before the big regex passes every text that a pattern matches."""
    from tools.redact import PATTERNS, _may_hold_secret

    for kind, pattern in PATTERNS.items():
        if kind == "aws-secret":  # a lookbehind: built below
            continue
        text = data.draw(st.from_regex(pattern), label=kind)
        assert _may_hold_secret(text), (kind, text)


def test_an_aws_secret_key_name_in_any_case_is_redacted() -> None:
    # U+017F and U+212A are equal to s and k for the pattern's case-insensitive match
    for name in ("AWS_SECRET_ACCESS_KEY", "Aws_Secret_Access_Key", "aws_\u017fecret_access_\u212aey"):
        out = redact_text(f'{name} = "{AWS_SECRET}"')
        assert out == f'{name} = "[REDACTED:aws-secret]"', out


def test_ordinary_code_and_generic_passwords_are_left_alone() -> None:
    text = ('password = "hunter2"\napi_key = os.environ["API_KEY"]\n'
            "AKIA_PREFIX = 'AKIA'\nsk_live_mode = False\n-----BEGIN PUBLIC KEY-----\n"
            "def eyJ(): return 'eyJ.x.y'\n")
    assert redact_text(text) == text


def test_redact_model_walks_nested_models_lists_and_dicts() -> None:
    hit = SearchHit(path="a.py", start_line=1, end_line=2, symbol=None, kind="module",
                    language="python", score=1.0, snippet=f"KEY = '{AWS_KEY}'")
    result = SearchResult(results=[hit], took_ms=1.0, truncated=False, mode="lexical",
                          embedded_share=0.0, freshness=Freshness(fresh=True, generation=1))
    out = redact_model(result)
    assert AWS_KEY not in out.model_dump_json() and "[REDACTED" in out.results[0].snippet
    assert AWS_KEY in result.results[0].snippet, "the input is not modified"
    assert redact({"k": [GH_TOKEN, 3]}) == {"k": ["[REDACTED:github-token]", 3]}


def test_a_model_without_secrets_comes_back_as_the_same_object() -> None:
    fresh = Freshness(fresh=True, pending_files=["a.py"], generation=3)
    assert redact_model(fresh) is fresh


_BODY = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16)


@settings(max_examples=200, deadline=None)
@given(body=_BODY, before=st.text(max_size=30), after=st.text(max_size=30))
def test_redaction_never_adds_tokens_around_an_aws_key(body: str, before: str, after: str) -> None:
    secret = "AKIA" + body
    assert count_tokens(redact_text(secret)) <= count_tokens(secret)
    text = f"{before} {secret} {after}"
    out = redact_text(text)
    assert secret not in out
    assert count_tokens(out) <= count_tokens(text) + 2


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_redact_text_on_arbitrary_text_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


# -- end to end over MCP ----------------------------------------------------------------------


def _leaky_repo(root: Path) -> None:
    escaped = PEM.replace("\n", "\\n")
    (root / "deploy.py").write_text(
        '"""Deployment helpers."""\n\n'
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n\n\n'
        "def signing_key() -> str:\n"
        '    """Return the deployment signing key."""\n'
        f'    return "{escaped}"\n\n\n'
        "def github_client():\n"
        f'    return Client(token="{GH_TOKEN}")\n')
    (root / ".env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (root / "id_rsa").write_text(PEM + "\n")
    (root / "server.pem").write_text(PEM + "\n")
    (root / "util.py").write_text("def add(a, b):\n    return a + b\n")


async def test_secrets_in_source_never_reach_search_or_symbol_output(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _leaky_repo(root)
    build_index(root, tmp_path / "idx")
    async with connected(server_settings(root, tmp_path / "idx")) as client:
        outputs = [
            await call(client, "search_code", query="signing key deployment", mode="lexical"),
            await call(client, "search_code", query="AWS_ACCESS_KEY_ID"),
            await call(client, "get_symbol", name="signing_key"),
            await call(client, "get_symbol", name="github_client", include_references=True),
            await call(client, "index_status"),
        ]
    text = repr(outputs)
    assert "[REDACTED" in repr(outputs[0]) and "[REDACTED" in repr(outputs[2])
    for leaked in (AWS_KEY, GH_TOKEN, "PRIVATE KEY", "MIIEpAIBAAKCAQEA"):
        assert leaked not in text, leaked
    assert "def signing_key" in repr(outputs[2]), "the rest of the body is still shown"


async def test_credential_files_are_skipped_with_reason_secret(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _leaky_repo(root)
    build_index(root, tmp_path / "idx")
    async with connected(server_settings(root, tmp_path / "idx")) as client:
        status = await call(client, "index_status")
        hits = await call(client, "search_code", query="AWS_ACCESS_KEY_ID", k=50)
    assert status["skipped"].get("secret") == 3
    assert {h["path"] for h in hits["results"]} <= {"deploy.py", "util.py"}
