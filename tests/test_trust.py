"""Signed checkpoints and witnesses: what `cslir verify` proves with the public key and without.

A run recorded with the organisation key (``signing_key`` in cslir.yaml) is signed after every
milestone and when the process ends. Then tampered with in the store file the way an attacker
with write access would: the last events cut off, the whole chain rewritten with every hash
recomputed, the checkpoints stripped, the ``runs`` row edited.
"""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, cslir_env, make_ops, only_run, store_path, stored_events

from cslir.engine.events import GENESIS, Event, canonical_json, seal

SETTINGS = "signing_key: ${env:CSLIR_SIGNING_KEY}\nverify_key: keys/signing.pub\n"
TYPES = [
    "run.opened", "checkpoint.signed", "step.done", "decision.made", "checkpoint.signed",
    "step.done", "checkpoint.signed", "step.done", "run.closed", "checkpoint.signed",
]  # fmt: skip


class Signed:
    """An ops repo with a key pair, and one closed run recorded with the key."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.root = make_ops(tmp_path, "sealed", settings=SETTINGS)
        self.private = tmp_path / "secrets" / "signing.key"
        self.env = cslir_env(tmp_path, self.root)
        done = self.cli("key", "init", "--private", str(self.private))
        assert done.returncode == 0, done.stderr
        self.key_id = done.stdout.split()[1].rstrip(":")
        self.env["CSLIR_SIGNING_KEY"] = str(self.private)
        done = self.cli("run", "playbooks/sealed.yaml", "--auto")
        assert done.returncode == 0, done.stderr
        self.run = only_run(tmp_path)

    def cli(self, *args: str, **env: str) -> Any:
        return cslir(*args, env={**self.env, **env}, cwd=self.root)

    def verify(self, *args: str) -> Any:
        """Verify as an auditor would: the public key in the ops repo, no private key."""
        env = {k: v for k, v in self.env.items() if k != "CSLIR_SIGNING_KEY"}
        return cslir("verify", self.run, *args, env=env, cwd=self.root)

    def events(self) -> list[Event]:
        return stored_events(self.tmp, self.run)

    def sql(self, statement: str, *params: Any) -> None:
        with sqlite3.connect(store_path(self.tmp)) as db:
            db.execute(statement, params)

    def replace_events(self, events: list[Event]) -> None:
        with sqlite3.connect(store_path(self.tmp)) as db:
            db.execute("DELETE FROM events WHERE run = ?", (self.run,))
            db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.run, e.seq, e.at, e.actor, e.type, canonical_json(dict(e.data)).decode(),
                  e.prev_hash, e.hash) for e in events],
            )  # fmt: skip


@pytest.fixture
def signed(tmp_path: Path) -> Signed:
    return Signed(tmp_path)


def failed(done: Any, run: str, *problems: str) -> None:
    count = len(problems)
    lines = [f"{run}: {p}" for p in problems]
    lines.append(f"{run}: verification FAILED ({count} problem{'s' * (count != 1)})")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "\n".join(lines) + "\n")


def rechained(events: list[Event]) -> list[Event]:
    """The events sealed again from the genesis hash, as a forger with write access would."""
    out: list[Event] = []
    prev = GENESIS
    for seq, e in enumerate(events, start=1):
        out.append(seal(e.run, seq, e.at, e.actor, e.type, e.data, prev))
        prev = out[-1].hash
    return out


# -- the key ---------------------------------------------------------------------------------


def test_key_init_writes_an_owner_only_private_key_and_the_public_key_in_the_ops_repo(
    tmp_path: Path,
) -> None:
    root = make_ops(tmp_path)
    private = tmp_path / "secrets" / "org.key"
    done = cslir("key", "init", "--private", str(private), env=cslir_env(tmp_path, root),
                 cwd=root)  # fmt: skip
    public = root / "keys" / "signing.pub"
    key_id = done.stdout.split()[1].rstrip(":")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"key {key_id}: private key {private} (owner-only; keep it out of git), public key"
        f" {public}\nadd to cslir.yaml, and commit the public key:\n"
        "  signing_key: ${env:CSLIR_SIGNING_KEY}   # set to the private key's path or PEM\n"
        "  verify_key: keys/signing.pub\n"
    )
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(key_id) == 16


def test_key_init_refuses_a_private_key_inside_the_ops_repo_and_never_overwrites(
    tmp_path: Path,
) -> None:
    root = make_ops(tmp_path)
    env = cslir_env(tmp_path, root)
    inside = cslir("key", "init", "--private", "org.key", env=env, cwd=root)
    assert inside.returncode == 2
    assert "is inside the ops repo" in inside.stderr
    assert not (root / "org.key").exists()
    private = tmp_path / "org.key"
    assert cslir("key", "init", "--private", str(private), env=env, cwd=root).returncode == 0
    before = private.read_bytes()
    again = cslir("key", "init", "--private", str(private), env=env, cwd=root)
    assert (again.returncode, again.stderr) == (
        2, f"cslir: error: {private} exists; cslir key init never overwrites a key\n"
    )  # fmt: skip
    assert private.read_bytes() == before


def test_a_literal_signing_key_in_cslir_yaml_is_a_validation_error(tmp_path: Path) -> None:
    root = make_ops(tmp_path, settings="signing_key: /home/me/org.key\n")
    done = cslir("validate", env=cslir_env(tmp_path, root), cwd=root)
    assert done.returncode == 1
    assert "cslir.yaml:3:14: error: signing_key is written out literally" in done.stdout


# -- signing ---------------------------------------------------------------------------------


def test_each_milestone_and_the_end_of_the_process_are_signed(signed: Signed) -> None:
    events = signed.events()
    assert [e.type for e in events] == TYPES
    for e in events:
        if e.type == "checkpoint.signed":
            assert (e.data["seq"], e.data["head"], e.data["key"]) == (
                e.seq - 1, e.prev_hash, signed.key_id
            )  # fmt: skip


def test_a_signed_run_verifies_with_the_public_key_alone(signed: Signed) -> None:
    done = signed.verify()
    head = signed.events()[-1].hash
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"{signed.run}: 10 events, chain intact; head {head}\n"
        f"signed: 4 checkpoint(s) by key {signed.key_id}, the last on event 10, the head: no"
        " event was changed, and none was cut off unless back to exactly an earlier checkpoint"
        " (a witnessed head, --head, rules that out)\n"
    )


def test_without_a_key_verify_says_what_it_cannot_prove(signed: Signed) -> None:
    (signed.root / "cslir.yaml").write_text("cslir: 1\ntimezone: UTC\n", encoding="utf-8")
    done = signed.verify()
    assert done.returncode == 0
    assert done.stdout.splitlines()[1] == (
        "no verify key (--key, or verify_key in cslir.yaml), and its 4 checkpoint(s) are"
        " unchecked: this shows the events agree with each other, not that none was cut off the"
        " end or that the whole chain was not rewritten"
    )


# -- truncation ------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 2, 4, 6])
def test_cutting_off_the_last_events_is_detected_with_the_key(signed: Signed, cut: int) -> None:
    """1: the last checkpoint; 2: the closure with it; 4, 6: back into the steps' events."""
    keep = 10 - cut
    last_checkpoint = max(e.seq for e in signed.events()[:keep] if e.type == "checkpoint.signed")
    signed.sql("DELETE FROM events WHERE run = ? AND seq > ?", signed.run, keep)
    one = last_checkpoint + 1 == keep
    span = f"event {keep} is" if one else f"events {last_checkpoint + 1}-{keep} are"
    failed(
        signed.verify(),
        signed.run,
        f"{span} after the last signed checkpoint (event {last_checkpoint}), not signed: the"
        " record may have been cut short and extended, or a process without the key wrote"
        " them (`cslir key sign RUN` signs the head once you have checked them)",
    )


def test_without_the_key_a_cut_record_still_verifies(signed: Signed) -> None:
    signed.sql("DELETE FROM events WHERE run = ? AND seq > 8", signed.run)
    done = signed.verify("--key", str(signed.root / "missing.pub"))
    assert done.returncode == 1  # an unreadable key is an error, never a silent pass
    (signed.root / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
    assert signed.verify().returncode == 0


def test_a_cut_back_to_exactly_a_checkpoint_is_caught_by_a_witnessed_head(
    signed: Signed,
) -> None:
    witnessed = signed.events()[-1].hash
    signed.sql("DELETE FROM events WHERE run = ? AND seq > 7", signed.run)
    assert signed.verify().returncode == 0  # locally, a record that was once whole
    failed(
        signed.verify("--head", witnessed),
        signed.run,
        f"witnessed head {witnessed} is not in the chain: the record was cut back or rewritten"
        " after a witness received that head",
    )


# -- rewriting -------------------------------------------------------------------------------


def forged(events: list[Event], resign: bool) -> list[Event]:
    """Change who decided and what, then recompute the chain (and, with ``resign``, point every
    checkpoint at the new heads, keeping the old signatures: the key is not the forger's)."""
    out: list[Event] = []
    prev = GENESIS
    for e in events:
        data = dict(e.data)
        actor = "mallory" if e.actor != "cslir" else e.actor
        if e.type == "decision.made":
            data["value"] = "major"
        if e.type == "checkpoint.signed" and resign:
            data["head"] = prev
        out.append(seal(e.run, e.seq, e.at, actor, e.type, data, prev))
        prev = out[-1].hash
    return out


def test_a_whole_chain_rewrite_breaks_every_checkpoint(signed: Signed) -> None:
    signed.replace_events(forged(signed.events(), resign=True))
    failed(
        signed.verify(),
        signed.run,
        *[
            f"event {seq}: checkpoint signature does not verify: the events it covers were"
            " rewritten, or it was forged"
            for seq in (2, 5, 7, 10)
        ],
        "events 1-10 are after the last signed checkpoint (none verifies), not signed: the record"
        " may have been cut short and extended, or a process without the key wrote them"
        " (`cslir key sign RUN` signs the head once you have checked them)",
    )


def test_a_rewrite_that_keeps_the_old_checkpoints_names_them(signed: Signed) -> None:
    signed.replace_events(forged(signed.events(), resign=False))
    done = signed.verify()
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{signed.run}: event 2: checkpoint does not sign the event before it (it names event 1)"
    )


def test_a_rewrite_without_the_checkpoints_has_none(signed: Signed) -> None:
    kept = [e for e in signed.events() if e.type != "checkpoint.signed"]
    signed.replace_events(rechained(kept))
    failed(
        signed.verify(),
        signed.run,
        "no signed checkpoint: this run was never signed, or its checkpoints were removed (a"
        " rewritten record loses them)",
    )


def test_without_the_key_a_rewritten_chain_verifies(signed: Signed) -> None:
    kept = [e for e in signed.events() if e.type != "checkpoint.signed"]
    signed.replace_events(rechained(kept))
    (signed.root / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
    assert signed.verify().returncode == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [("mode", "drill"), ("title", "A drill"), ("playbook_id", "other"),
     ("created_at", "2020-01-01T00:00:00.000000Z")],
)  # fmt: skip
def test_an_edited_runs_row_fails_verify_even_without_a_key(
    signed: Signed, column: str, value: str
) -> None:
    opened = signed.events()[0]
    want = {"mode": "live", "title": "Sealing fixture", "playbook_id": "sealed",
            "created_at": opened.at}[column]  # fmt: skip
    signed.sql(f"UPDATE runs SET {column} = ? WHERE id = ?", value, signed.run)
    (signed.root / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
    failed(
        signed.verify(),
        signed.run,
        f"runs table: {column} is {value!r} but the opening event says {want!r}",
    )


# -- by hand and without the key -------------------------------------------------------------


def test_a_process_without_the_key_warns_and_key_sign_signs_the_head_later(
    signed: Signed,
) -> None:
    env = {k: v for k, v in signed.env.items() if k != "CSLIR_SIGNING_KEY"}
    noted = cslir("note", signed.run, "called the CAC duty officer", env=env, cwd=signed.root)
    assert noted.returncode == 0
    assert noted.stderr == (
        "cslir: warning: signing_key in cslir.yaml needs $CSLIR_SIGNING_KEY, which is not set"
        " here: what this process records is not signed (cslir key sign RUN later)\n"
    )
    assert signed.verify().returncode == 1
    done = signed.cli("key", "sign", signed.run)
    assert (done.returncode, done.stdout) == (
        0, f"{signed.run}: signed event 11 (head {signed.events()[10].hash})\n"
    )  # fmt: skip
    assert signed.verify().returncode == 0


# -- bundles ---------------------------------------------------------------------------------


def test_a_signed_run_exports_to_a_bundle_that_verifies_with_the_key(signed: Signed) -> None:
    bundle = signed.tmp / "b.zip"
    assert signed.cli("export", signed.run, "-o", str(bundle)).returncode == 0
    pub = signed.root / "keys" / "signing.pub"
    done = cslir("verify", str(bundle), "--key", str(pub), env=signed.env, cwd=signed.tmp)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[1].startswith(
        f"signed: 4 checkpoint(s) by key {signed.key_id}, the last on event 10"
    )


# -- witnesses -------------------------------------------------------------------------------

AUDIT = """\
cslir: 1
routes:
  audit-hook:
    channel: webhook
    url: ${env:AUDIT_URL}
    secret: ${env:CSLIR_TEST_HOOK_SECRET}
"""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def test_each_milestone_head_reaches_the_audit_route_and_verify_checks_it(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_ops(tmp_path, "sealed", settings="routes: {audit: audit-hook}\n")
    (root / "notifiers" / "audit.yaml").write_text(AUDIT, encoding="utf-8")
    server.script(*[Reply(200)] * 4)
    env = {**cslir_env(tmp_path, root), "AUDIT_URL": server.url + "/audit"}
    done = cslir("run", "playbooks/sealed.yaml", "--auto", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    rid = only_run(tmp_path)
    events = stored_events(tmp_path, rid)
    witnessed = [e for e in events if e.data.get("reason") == "witness"]
    milestones = [e.seq for e in events if e.type in ("run.opened", "decision.made", "run.closed")]
    milestones.append(next(e.seq for e in events if e.data.get("step") == "report"))
    assert sorted(w.data["seq"] for w in witnessed) == sorted(milestones)
    sent = [json.loads(r.body)["data"]["text"] for r in server.requests]
    by_seq = {e.seq: e.hash for e in events}
    assert sorted(sent) == sorted(
        f"cslir record witness: run {rid}, event {seq}, chain head {by_seq[seq]} (sealed)"
        for seq in milestones
    )
    heads = [arg for seq in milestones for arg in ("--head", by_seq[seq])]
    assert cslir("verify", rid, *heads, env=env, cwd=root).returncode == 0


def test_a_clock_without_its_own_route_pages_the_settings_escalate_route(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "sealed", settings="routes: {escalate: legal-oncall}\n")
    env = cslir_env(tmp_path, root)
    hours_ago = "2000-01-01T00:00:00Z"
    done = cslir("run", "playbooks/sealed.yaml", "--var", f"detected_at={hours_ago}", "--auto",
                 env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = stored_events(tmp_path, only_run(tmp_path))
    missed = next(e for e in events if e.type == "clock.missed")
    page = next(e for e in events if e.type == "notify.requested" and e.seq > missed.seq)
    assert (page.data["route"], page.data["reason"], page.data["clock"]) == (
        "legal-oncall", "clock.missed", "report"
    )  # fmt: skip
