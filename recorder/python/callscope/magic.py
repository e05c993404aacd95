"""IPython and Jupyter: ``%load_ext callscope``, then ``%callscope STATEMENT`` or a cell that
starts with ``%%callscope``.

Options: ``--interval SECONDS``, ``--show-all``, ``--timeline``, ``--async_mode MODE``
and ``--threads all|current`` (default ``current``: the kernel's own threads, idle in
their sockets, stay out of the tree). In a notebook the output is the interactive viewer
inline, an ``<iframe srcdoc>`` holding the self-contained report, so it works offline and
in exported notebooks; the text tree is the plain-text form (a terminal IPython prints it).
"""

from __future__ import annotations

import html
from typing import Any, Optional

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from callscope.profiler import Profiler


class ProfileOutput:
    """A profile as IPython shows it: the viewer in a notebook, the text tree elsewhere."""

    def __init__(self, session: Any, show_all: bool, timeline: bool) -> None:
        self.session = session
        self.show_all = show_all
        self.timeline = timeline

    def __repr__(self) -> str:
        return self.session.render_text(
            unicode=True, show_all=self.show_all, timeline=self.timeline
        )

    def _repr_html_(self) -> str:
        from callscope import report

        page = report.report(self.session)
        # srcdoc takes the page as an attribute value: escaping makes it text there, and
        # the report itself never carries the program's names as markup.
        return (
            '<iframe title="callscope profile" style="width:100%;height:600px;border:0" '
            f'srcdoc="{html.escape(page, quote=True)}"></iframe>'
        )


@magics_class
class CallscopeMagics(Magics):
    @magic_arguments()
    @argument("--interval", type=float, default=0.001, help="sampling interval in seconds")
    @argument("--show-all", action="store_true", help="show library and hidden frames")
    @argument("--timeline", action="store_true", help="keep the order of calls")
    @argument("--async_mode", default="disabled", choices=("enabled", "disabled", "strict"))
    @argument("--threads", default="current", choices=("current", "all"))
    @argument("statement", nargs="*", help="the statement to profile (line magic)")
    @no_var_expand
    @line_cell_magic
    def callscope(self, line: str, cell: Optional[str] = None) -> Optional[ProfileOutput]:
        args = parse_argstring(self.callscope, line)
        code = cell if cell is not None else " ".join(args.statement)
        if not code.strip():
            print("callscope: nothing to profile; give a statement or use %%callscope on a cell")
            return None
        profiler = Profiler(
            interval=args.interval, async_mode=args.async_mode, threads=args.threads
        )
        profiler.start(target_description="cell" if cell is not None else code)
        try:
            # The shell runs it as a cell of its own: top-level await, the user's
            # namespace and tracebacks work as they do without callscope.
            # A cell that raises shows its traceback, and its profile up to the error.
            self.shell.run_cell(code, store_history=False, silent=False)
        finally:
            session = profiler.stop()
        return ProfileOutput(session, args.show_all, args.timeline)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(CallscopeMagics)
