"""Single-file HTML reports and the standalone viewer.

The package ships ``viewer.html``: callscope's browser viewer packed into one file (wasm,
script and styles inline) with one placeholder for a session. A report is that file with
the compressed session embedded as base64, so it opens from disk, offline, in any modern
browser, and nothing from the profiled program is ever placed in the page as markup.
"""

from __future__ import annotations

import os
import tempfile
import webbrowser
from importlib import resources
from pathlib import Path
from typing import Optional, Tuple

from callscope import _native
from callscope._native import Session

_TEMPLATE = "viewer.html"


def template() -> str:
    """The packed viewer this package ships."""
    try:
        return resources.files("callscope").joinpath(_TEMPLATE).read_text("utf-8")
    except OSError:
        raise RuntimeError(
            "this callscope was built without its viewer (callscope/viewer.html is missing); "
            "build the wheel with `make viewer-template` first, or save the session with "
            "-r session / write_session() and open it in the viewer"
        ) from None


def report(session: Session) -> str:
    """A self-contained HTML report of ``session``."""
    return session.to_html(template())


def viewer() -> str:
    """The standalone viewer: no session in it; it waits for a dropped or chosen file."""
    return _native.empty_viewer(template())


def embed_script() -> str:
    """``callscope-embed.js``: turns ``<div class="callscope-embed">`` into viewers."""
    try:
        return resources.files("callscope").joinpath("callscope-embed.js").read_text("utf-8")
    except OSError:
        raise RuntimeError(
            "this callscope was built without its embed script (callscope/callscope-embed.js "
            "is missing); build the wheel with `make viewer-template` first"
        ) from None


def write_embed_files(directory: "os.PathLike[str] | str") -> Tuple[str, str]:
    """Writes ``callscope-viewer.html`` and ``callscope-embed.js`` into ``directory`` (a
    docs site's static files) and returns their paths."""
    os.makedirs(directory, exist_ok=True)
    page = os.path.join(directory, "callscope-viewer.html")
    script = os.path.join(directory, "callscope-embed.js")
    html, js = viewer(), embed_script()
    write(html, page)
    with open(script, "w", encoding="utf-8") as f:
        f.write(js)
    return page, script


def write(html: str, path: "os.PathLike[str] | str") -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(html)


def open_in_browser(html: str, path: Optional[str] = None) -> Tuple[str, bool]:
    """Writes ``html`` (to a temporary file unless ``path`` is given) and opens it in the
    default browser. Returns the path and whether a browser took it."""
    if path is None:
        fd, path = tempfile.mkstemp(prefix="callscope-", suffix=".html")
        os.close(fd)
    write(html, path)
    try:
        opened = webbrowser.open(Path(path).resolve().as_uri())
    except webbrowser.Error:
        opened = False
    return path, opened
