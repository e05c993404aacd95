"""Sessions the command line saved, so ``--load-prev`` can reopen them with other options.

They live in ``$XDG_CACHE_HOME/callscope/sessions`` (``~/.cache/...`` by default); the
newest ten are kept.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import List, Optional

from callscope._native import Session

KEEP = 10


def directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "callscope" / "sessions"


def saved() -> List[Path]:
    """Saved sessions, oldest first."""
    d = directory()
    if not d.is_dir():
        return []
    return sorted(d.glob("*.pyisession"))


def save(session: Session) -> str:
    """Saves ``session`` and returns the id that ``--load-prev`` takes."""
    d = directory()
    d.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(session.start_time or None))
    ident, n = stamp, 1
    while (d / f"{ident}.pyisession").exists():
        n += 1
        ident = f"{stamp}-{n}"
    session.save(str(d / f"{ident}.pyisession"))
    for old in saved()[:-KEEP]:
        try:
            old.unlink()
        except OSError:
            pass
    return ident


def path_of(ident: Optional[str]) -> Path:
    """The file of a saved session; the newest when ``ident`` is None."""
    if ident is None:
        files = saved()
        if not files:
            raise FileNotFoundError(f"no saved sessions in {directory()}")
        return files[-1]
    path = directory() / f"{ident}.pyisession"
    if not path.exists():
        known = ", ".join(p.stem for p in saved()[-5:]) or "none"
        raise FileNotFoundError(f"no saved session {ident!r} (latest: {known})")
    return path
