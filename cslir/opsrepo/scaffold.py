"""The files ``cslir init`` writes: the same examples this project's own root carries."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cslir.base.errors import UsageError
from cslir.opsrepo.schemafiles import FILENAMES, render_schema

GITIGNORE = ".cslir/\n"


def _scaffold_files() -> dict[str, str]:
    base = resources.files("cslir") / "data" / "scaffold"
    files: dict[str, str] = {".gitignore": GITIGNORE}
    for rel in (
        "cslir.yaml",
        "playbooks/leak.yaml",
        "notifiers/oncall.yaml",
        "drills/leak-quarterly.yaml",
    ):
        files[rel] = (base / rel).read_text(encoding="utf-8")
    for kind, name in FILENAMES.items():
        files[f"schema/{name}"] = render_schema(kind)
    return files


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the scaffold; refuse to overwrite unless ``force``. Returns the files written."""
    files = _scaffold_files()
    existing = [rel for rel in files if (directory / rel).exists()]
    if existing and not force:
        raise UsageError(f"{directory} already has {', '.join(existing)}; use --force to overwrite")
    written = []
    for rel, content in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        written.append(target)
    return written
