"""The ``callscope`` command (also ``python -m callscope``).

    callscope [options] script.py [args...]
    callscope [options] -m module [args...]
    callscope [options] -c code [args...]
    callscope [options] --load FILE | --load-prev [ID]
    callscope view FILE            (an HTML report of FILE, opened in the browser)
    callscope viewer [-o PATH]     (the standalone viewer: drop files on it)
    callscope viewer --embed DIR   (the viewer and embed script for a docs site)
"""

from __future__ import annotations

import os
import sys

# Annotations only (they are strings here): importing typing would cost a program run by
# `callscope` several milliseconds of start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, NoReturn, Optional

from callscope import launcher
from callscope.runner import split_argv

# Options that load a saved session: no program runs.
_LOADING = ("--load", "--load-prev")


def main(argv: Optional[List[str]] = None) -> NoReturn:
    argv = sys.argv[1:] if argv is None else argv
    # A script called `view` or `viewer` in the current directory still runs.
    if argv and argv[0] in ("view", "viewer") and not os.path.exists(argv[0]):
        from callscope.options import html_command

        html_command(argv[0], argv[1:])
    own, target = split_argv(argv)
    # The program's process starts before the options are parsed, and waits for them: its
    # interpreter starts meanwhile, on the other core.
    child = None
    if target is not None and not any(a.partition("=")[0] in _LOADING for a in own):
        child = launcher.Child(argv)
    try:
        from callscope import options

        args, renderer = options.check(own, target)
    except BaseException:
        if child is not None:
            child.cancel()
        raise
    if child is None:
        options.write_output(renderer, options.load_session(args), args.outfile)
        sys.exit(0)
    session, exit_code, note = child.run(args.interval)
    if session is not None:
        if note:
            print(f"callscope: {note}", file=sys.stderr)
        options.finish(renderer, session, args)
    # Without the interpreter's own teardown, which costs milliseconds and has nothing
    # left to do: the output is written and the reader thread has ended.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(exit_code)


if __name__ == "__main__":
    main()
