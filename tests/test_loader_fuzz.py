"""Whatever text a playbook author saves, loading and checking it ends in a located answer.

Random text, random bytes and mutations of the valid samples (lines deleted, duplicated,
swapped, tabs and stray characters inserted, the file cut short) go through
``yamlload.loads`` and ``documents.check_document``. The outcome is always a document with
diagnostics, or a ``YamlError``; never another exception, and every line:col lies in the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cslir.opsrepo import yamlload
from cslir.opsrepo.diagnostics import Diagnostic
from cslir.opsrepo.documents import check_document

TESTS = Path(__file__).resolve().parent
VALID = [*sorted(TESTS.glob("*/valid/*.yaml")), TESTS / "playbooks" / "notifiers" / "routes.yaml"]
KIND = {"playbooks": "playbook", "routes": "route", "drills": "drill", "notifiers": "route",
        "shared": "steps"}  # fmt: skip
OPS_ROOT = TESTS / "playbooks"  # includes resolve inside it, as tests/test_validate_samples.py
ROUTES = {"ic-pager", "legal-oncall", "sec-slack", "exec-teams", "drill-room"}
# What YAML counts as a line break, and so what a diagnostic's line number counts.
YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
BOUNDED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kind_of(path: Path) -> str:
    return KIND[path.parent.parent.name if path.parent.name == "valid" else path.parent.name]


def assert_located(diag: Diagnostic, lines: int) -> None:
    assert diag.line >= 1
    assert diag.col >= 1
    assert diag.line <= lines + 1, diag.format()
    assert diag.severity in ("error", "warning")
    assert diag.message


def check(source: str | bytes, kind: str, path: Path) -> list[Diagnostic]:
    """Load and check ``source``; return the diagnostics after asserting they are located."""
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    lines = len(YAML_BREAK.findall(text)) + 1
    try:
        doc = yamlload.loads(source, path=str(path))
    except yamlload.YamlError as e:
        assert_located(e.diagnostic, lines)
        return [e.diagnostic]
    routes = doc.data.get("routes")  # a route file's own routes count, as in validate()
    diags = check_document(
        doc, kind, ROUTES | set(routes if isinstance(routes, dict) else ()), path, root=OPS_ROOT
    )
    for d in diags:
        assert_located(d, lines)
    return diags


# Text that looks like YAML often enough to reach the checks, not only the parser.
TOKENS = [*"abdeimnpstx01:-[]{},'\"#&*!|>%@`\t\n ", "\n  - ", ": ", "id", "steps", "needs", "<<"]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)


@BOUNDED
@given(st.one_of(st.text(max_size=300), YAMLISH))
def test_random_text_loads_or_fails_with_a_located_error(text: str) -> None:
    check(text, "playbook", TESTS / "fuzz.yaml")


@BOUNDED
@given(st.binary(max_size=300))
def test_random_bytes_load_or_fail_with_a_located_error(raw: bytes) -> None:
    check(raw, "playbook", TESTS / "fuzz.yaml")


def mutate(lines: list[str], data: st.DataObject) -> list[str]:
    if not lines:
        return lines
    i = data.draw(st.integers(0, len(lines) - 1))
    j = data.draw(st.integers(0, len(lines) - 1))
    op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "tab", "char", "truncate"]))
    out = list(lines)
    if op == "delete":
        del out[i]
    elif op == "duplicate":
        out.insert(i, out[i])
    elif op == "swap":
        out[i], out[j] = out[j], out[i]
    elif op == "tab":
        out[i] = "\t" + out[i]
    elif op == "char":
        pos = data.draw(st.integers(0, len(out[i])))
        ch = data.draw(st.characters(codec="utf-8") | st.sampled_from(list(":-[]{}&*!|>'\"#")))
        out[i] = out[i][:pos] + ch + out[i][pos:]
    else:
        out = out[:i]
        out.append(lines[i][: data.draw(st.integers(0, len(lines[i])))])
    return out


@BOUNDED
@given(st.sampled_from(VALID), st.data())
def test_mutated_valid_samples_load_or_fail_with_located_errors(
    path: Path, data: st.DataObject
) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        lines = mutate(lines, data)
    # the path is the sample's own, so a mutated drill still finds its playbook
    check("\n".join(lines), kind_of(path), path)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(VALID), st.sampled_from(["playbook", "route", "drill", "settings"]))
def test_valid_sample_checked_as_the_wrong_kind_still_gets_located_errors(
    path: Path, kind: str
) -> None:
    check(path.read_text(encoding="utf-8"), kind, path)


def test_valid_samples_are_clean_when_checked_as_their_own_kind() -> None:
    """The property tests above start from files that are truly valid."""
    for path in VALID:
        assert check(path.read_text(encoding="utf-8"), kind_of(path), path) == [], path
