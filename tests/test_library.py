"""The playbook library end to end: each shipped playbook runs to its close with --auto, renders
its report in both languages, and every clock in it is feasible with its own estimates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from runkit import cslir, cslir_env, finish_as_people, only_run, responders_yaml, stored_events

from cslir.__main__ import main

REPO = Path(__file__).resolve().parents[1]
HOOK = (
    '{channel: webhook, url: "${env:CSLIR_TEST_HOOK_URL}", secret: "${env:CSLIR_TEST_HOOK_SECRET}"}'
)
ROUTES = f"cslir: 1\nroutes:\n  ic-pager: {HOOK}\n  legal-oncall: {HOOK}\n"
NOTICE_DUE = "2099-01-15T18:00+08:00"  # a deadline a notice states: ahead of any test run
# The inputs each playbook needs beyond its defaults, as --var pairs.
INPUTS = {
    "leak": {"system": "crm-prod", "cii": "no", "records_affected": "1200000"},
    "regulator-notice": {"authority": "cac", "notice_kind": "rectification",
                         "reference": "沪网信 2026-17", "response_due": NOTICE_DUE},
    "supply-chain": {"supplier": "Acme", "product": "Acme VPN 5.1", "our_product": "yes",
                     "public_interest": "yes", "cii_operator": "yes", "review_needed": "yes"},
    "cross-border": {"system": "payments", "cii": "yes", "data_abroad": "yes"},
    "ai-incident": {"service": "chat 3.2", "kind": "illegal_content", "records_affected": "0"},
}  # fmt: skip


def ops(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "ops"
    shutil.copytree(REPO / "playbooks", root / "playbooks")
    shutil.copytree(REPO / "drills", root / "drills")
    (root / "notifiers").mkdir()
    (root / "notifiers" / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    roles = [r for p in (REPO / "playbooks").glob("*.yaml")
             for r in yaml.safe_load(p.read_text("utf-8")).get("roles") or {}]  # fmt: skip
    settings = "cslir: 1\ntimezone: Asia/Shanghai\n" + responders_yaml(roles)
    (root / "cslir.yaml").write_text(settings, encoding="utf-8")
    return root, cslir_env(tmp_path, root)


def given(inputs: dict[str, str]) -> list[str]:
    return [arg for name, value in inputs.items() for arg in ("--var", f"{name}={value}")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["live", "drill"])
@pytest.mark.parametrize("playbook", sorted(INPUTS))
def test_each_playbook_runs_to_its_close_and_reports_in_both_languages(
    tmp_path: Path, playbook: str, mode: str
) -> None:
    root, env = ops(tmp_path)
    drill = ["--drill"] if mode == "drill" else []
    done = cslir("run", f"playbooks/{playbook}.yaml", "--auto", *drill, *given(INPUTS[playbook]),
                 env=env, cwd=root, timeout=120)  # fmt: skip
    if mode == "live":  # automation leaves approvals and evidence to people: they give them
        assert done.returncode == 1 and " waits on people " in done.stdout, done.stdout
        done = finish_as_people(done, env=env, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    rid = only_run(tmp_path)
    assert "run.closed" in [e.type for e in stored_events(tmp_path, rid)]
    for lang, heading in (("en", "## Mitigation file (leniency)"), ("zh", "## 从轻处罚材料")):
        md = cslir("report", rid, "--lang", lang, env=env, cwd=root)
        assert (md.returncode, md.stderr) == (0, "")
        assert heading in md.stdout
    html = cslir("report", rid, "--format", "html", "--lang", "zh", env=env, cwd=root)
    assert html.returncode == 0 and "<html" in html.stdout
    assert cslir("verify", rid, env=env, cwd=root).returncode == 0


PLAYBOOKS = ["ai-incident", "cross-border", "leak", "regulator-notice", "supply-chain",
             "takedown"]  # fmt: skip
STATED = {"regulator-notice": {"response_due": NOTICE_DUE},
          "takedown": {"rectify_by": NOTICE_DUE, "relist_by": NOTICE_DUE}}  # fmt: skip


def test_plan_shows_every_clock_of_the_library_feasible(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--root", str(REPO), "validate", "--strict"]) == 0
    capsys.readouterr()
    for playbook in PLAYBOOKS:
        args = ["--root", str(REPO), "plan", str(REPO / "playbooks" / f"{playbook}.yaml"),
                "--json", *given(STATED.get(playbook, {}))]  # fmt: skip
        assert main(args) == 0, playbook
        verdicts = {c["clock"]: c["verdict"] for c in json.loads(capsys.readouterr().out)}
        assert set(verdicts.values()) == {"feasible"}, (playbook, verdicts)
