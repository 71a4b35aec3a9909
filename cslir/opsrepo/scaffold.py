"""The files ``cslir init`` writes: the same examples this project's own root carries."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cslir.base.errors import UsageError
from cslir.opsrepo.schemafiles import FILENAMES, render_schema

GITIGNORE = ".cslir/\n"


# The example ops repo, folder by folder: settings, the playbook library and the steps its
# playbooks share, routes, drills.
FOLDERS = ("playbooks", "playbooks/shared", "notifiers", "drills")


def _scaffold_files() -> dict[str, str]:
    base = resources.files("cslir") / "data" / "scaffold"
    files: dict[str, str] = {".gitignore": GITIGNORE}
    files["cslir.yaml"] = (base / "cslir.yaml").read_text(encoding="utf-8")
    for folder in FOLDERS:
        here = base.joinpath(*folder.split("/"))
        names = sorted(f.name for f in here.iterdir() if f.name.endswith(".yaml") and f.is_file())
        for name in names:
            files[f"{folder}/{name}"] = here.joinpath(name).read_text(encoding="utf-8")
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
