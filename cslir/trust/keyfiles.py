"""Writing a new key pair where ``cslir key init`` is told to, never where it would leak."""

from __future__ import annotations

import os
from pathlib import Path

from cslir.base.errors import UsageError
from cslir.trust.keys import generate, load_signing_key


def write_key_pair(private: Path, public: Path, root: Path, store_dir: Path | None) -> str:
    """Write a new key pair and return its key id.

    The private key may not go inside the ops repo (it would be committed) or beside the store
    (whoever can rewrite the record could then sign it; a PostgreSQL store has no folder);
    neither file is ever overwritten.
    """
    private, public = private.absolute(), public.absolute()
    places = [(root, "the ops repo"), *([(store_dir, "the store")] if store_dir else [])]
    for place, why in ((p.absolute(), why) for p, why in places):
        if private.is_relative_to(place):
            raise UsageError(
                f"--private {private} is inside {why} ({place}); the private key must live"
                " elsewhere (the default is ~/.config/cslir/signing.key)"
            )
    for path in (private, public):
        if path.exists():
            raise UsageError(f"{path} exists; cslir key init never overwrites a key")
    private_pem, public_pem = generate()
    private.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    public.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(private_pem)
    public.write_bytes(public_pem)
    return load_signing_key(private_pem.decode("ascii"), str(private)).public.id
