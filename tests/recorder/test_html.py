"""HTML reports from the recorder: `-r html`, the Profiler's html methods, `callscope view`
and `callscope viewer`. The browser side is tested in tests/viewer/reports.mjs."""

from __future__ import annotations

import os
import re
import stat
import sys
import time
from pathlib import Path

import callscope
from callscope import Profiler
from conftest import SCRIPTS, run_callscope

SESSION = re.compile(r'<script type="application/octet-stream" id="callscope-session">([^<]*)</script>')


def embedded(html: str) -> str:
    match = SESSION.search(html)
    assert match, "a report carries its session element"
    return match.group(1)


def fake_browser(tmp_path: Path) -> dict:
    """A BROWSER for the webbrowser module that records the URL it was asked to open."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"BROWSER": str(script), "DISPLAY": "", "WAYLAND_DISPLAY": "", "_log": str(log)}


def test_cli_writes_a_report_that_loads_back_as_the_session(tmp_path):
    report = tmp_path / "report.html"
    proc = run_callscope("-r", "html", "-o", str(report), "sleeps.py")
    assert proc.returncode == 0, proc.stderr
    html = report.read_text("utf-8")
    data = embedded(html)
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", data), "base64 of the compressed session"
    assert "<title>callscope</title>" in html, "the viewer names the page at run time"
    # The viewer part stays small (see the README); the session is about 4/3 of its
    # compressed size.
    assert len(html) - len(data) < 400_000
    text = run_callscope("--load", str(report)).stdout
    assert "sleeps.py" in text and re.search(r"0\.[23]\d\d long", text), text


def test_profiler_html_methods(tmp_path, monkeypatch):
    p = Profiler()
    with p:
        time.sleep(0.05)
    html = p.output_html()
    session = callscope.Session.from_bytes(__import__("base64").b64decode(embedded(html)))
    assert session.sample_count == p.last_session.sample_count
    out = tmp_path / "p.html"
    p.write_html(out)
    assert out.read_text("utf-8") == html
    browser = fake_browser(tmp_path)
    log = browser.pop("_log")
    for key, value in browser.items():
        monkeypatch.setenv(key, value)
    import webbrowser

    monkeypatch.setattr(webbrowser, "_tryorder", None, raising=False)
    monkeypatch.setattr(webbrowser, "_browsers", {}, raising=False)
    path = p.open_in_browser()
    assert Path(path).read_text("utf-8") == html
    deadline = time.time() + 10
    while not os.path.exists(log) and time.time() < deadline:
        time.sleep(0.05)
    assert Path(log).read_text().strip() == Path(path).resolve().as_uri()


def test_view_opens_a_report_and_viewer_writes_the_empty_viewer(tmp_path):
    browser = fake_browser(tmp_path)
    log = Path(browser.pop("_log"))
    session = tmp_path / "s.pyisession"
    assert run_callscope("-r", "session", "-o", str(session), "sleeps.py").returncode == 0
    proc = run_callscope("view", str(session), env=browser)
    assert proc.returncode == 0, proc.stderr
    deadline = time.time() + 10
    while not log.exists() and time.time() < deadline:
        time.sleep(0.05)
    url = log.read_text().strip()
    assert url.startswith("file://") and url.endswith(".html"), url
    opened = Path(url[len("file://"):]).read_text("utf-8")
    assert embedded(opened)
    assert "opened it in the browser" in proc.stderr

    viewer = tmp_path / "viewer.html"
    proc = run_callscope("viewer", "-o", str(viewer))
    assert proc.returncode == 0, proc.stderr
    assert embedded(viewer.read_text("utf-8")) == ""
    load = run_callscope("--load", str(viewer))
    assert load.returncode == 1 and "no session" in load.stderr

    missing = run_callscope("view", str(tmp_path / "nope.pyisession"))
    assert missing.returncode == 1 and "nope.pyisession" in missing.stderr


def test_without_a_browser_the_path_is_printed(tmp_path):
    env = {"BROWSER": str(tmp_path / "no-such-browser"), "DISPLAY": "", "WAYLAND_DISPLAY": "",
           "PATH": os.path.dirname(sys.executable)}
    proc = run_callscope("viewer", env=env)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"open (\S+\.html)", proc.stderr)
    assert match, proc.stderr
    assert embedded(Path(match.group(1)).read_text("utf-8")) == ""


def test_html_to_a_pipe_goes_to_stdout():
    proc = run_callscope("-r", "html", "sleeps.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!doctype html>") and embedded(proc.stdout)


def test_a_script_named_view_still_runs(tmp_path):
    (tmp_path / "view").write_text("print('I am the view script')\n")
    proc = run_callscope("view", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "I am the view script" in proc.stdout


def test_viewer_embed_writes_the_viewer_and_the_embed_script(tmp_path):
    proc = run_callscope("viewer", "--embed", str(tmp_path / "_static"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "_static" / "callscope-viewer.html").read_text("utf-8")
    script = (tmp_path / "_static" / "callscope-embed.js").read_text("utf-8")
    assert embedded(page) == ""
    assert "callscope-embed" in script and "callscope-viewer.html" in script
