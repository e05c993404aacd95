"""``%load_ext callscope`` through IPython's own InteractiveShell, as a notebook runs it."""

from __future__ import annotations

import html
import re

import pytest

import callscope


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "callscope")
    ip.run_cell(
        "import time\n"
        "def crunch(seconds):\n"
        "    end = time.perf_counter() + seconds\n"
        "    while time.perf_counter() < end:\n"
        "        pass\n"
    )
    return ip


def run(ip, cell):
    """Runs ``cell`` and returns what it displayed as its output (``_``)."""
    ip.user_ns.pop("_", None)
    result = ip.run_cell(cell)
    return result, ip.user_ns.get("_")


def test_cell_magic_profiles_the_cell_and_shows_the_viewer_inline(shell):
    result, out = run(shell, "%%callscope --interval 0.0005\ncrunch(0.1)\nx = 41 + 1\n")
    assert result.success, result.error_in_exec
    assert shell.user_ns["x"] == 42  # the cell ran in the user's namespace
    text = repr(out)
    assert "crunch" in text
    page = out._repr_html_()
    assert page.startswith("<iframe") and 'srcdoc="' in page
    # The report inside is escaped as an attribute value and loads back as the session.
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', page)[1])
    assert 'id="callscope-session"' in srcdoc
    assert out.session.sample_count > 50


def test_line_magic_with_options(shell):
    result, out = run(shell, "%callscope --show-all --timeline crunch(0.05)")
    assert result.success, result.error_in_exec
    assert isinstance(out.session, callscope.Session)
    assert out.show_all and out.timeline
    assert "crunch" in repr(out)


def test_async_cell(shell):
    result, out = run(
        shell,
        "%%callscope\nimport asyncio\nasync def pause():\n    await asyncio.sleep(0.1)\n"
        "await pause()\ndone = True\n",
    )
    assert result.success, result.error_in_exec
    assert shell.user_ns["done"] is True
    assert out.session.duration >= 0.09


def test_a_failing_cell_still_gives_its_profile(shell):
    _, out = run(shell, "%%callscope\ncrunch(0.05)\nraise ValueError('boom')\n")
    # The cell's own traceback is shown by the inner run; the magic returns the profile.
    assert "crunch" in repr(out)


def test_nothing_to_profile(shell, capsys):
    _, out = run(shell, "%callscope")
    assert out is None
    assert "nothing to profile" in capsys.readouterr().out
