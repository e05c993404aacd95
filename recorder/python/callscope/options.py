"""The ``callscope`` command's options, and the output they ask for. Imported by the
launcher only once the program's process has been started (see ``cli.main``): building the
parser and the renderers takes longer than the child's whole start-up."""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Dict, List, NoReturn, Optional, Tuple

    from callscope.runner import Target

from callscope._native import Session, SessionLoadError, __version__
from callscope.profiler import stream_supports_color, stream_supports_unicode
from callscope.renderers import BY_NAME, HTMLRenderer, Renderer, TextRenderer


def check(own: List[str], target: Optional[Target]) -> Tuple[argparse.Namespace, Renderer]:
    """Parses callscope's own arguments and makes the renderer they ask for; exits with a
    message when they are wrong."""
    args = parser().parse_args(own)
    loading = args.load is not None or args.load_prev is not None
    if loading and target is not None:
        fail("give either a program to run or --load/--load-prev, not both")
    if not loading and target is None:
        parser().print_usage(sys.stderr)
        fail("no program given: pass a script, -m module or -c code")
    renderer = make_renderer(args, None if args.outfile else sys.stdout)
    if renderer.output_is_binary and args.outfile is None and sys.stdout.isatty():
        fail(f"the {args.renderer} renderer writes binary data; pass -o FILE")
    return args, renderer


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    # argparse's own default imports shutil for the terminal's width, which costs more than
    # the rest of building the parser.
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 80
    return argparse.HelpFormatter(prog, width=max(columns - 2, 40))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="callscope",
        formatter_class=_help_formatter,
        usage="callscope [options] script.py [args...] | -m module | -c code | --load FILE",
        description="Profile a Python program with low overhead and show where its time goes.",
    )
    p.add_argument("--version", action="version", version=f"callscope {__version__}")
    p.add_argument("-m", dest="module", metavar="MODULE", help="run a library module as a script")
    p.add_argument("-c", dest="code", metavar="CODE", help="run a program passed in as a string")
    p.add_argument("--load", metavar="FILE", help="render a saved session (callscope or pyinstrument)")
    p.add_argument(
        "--load-prev", metavar="ID", nargs="?", const="", default=None,
        help="render a session the command saved earlier (the latest without ID)",
    )  # fmt: skip
    p.add_argument("-r", "--renderer", default="text", choices=sorted(BY_NAME), help="output format")
    p.add_argument("-o", "--outfile", metavar="PATH", help="write the output to PATH")
    p.add_argument("-i", "--interval", type=float, default=0.001, help="sampling interval in seconds")
    p.add_argument(
        "-p", "--render-option", dest="render_options", action="append", default=[],
        metavar="KEY=VALUE", help="a renderer option, e.g. -p time=percent_of_total -p flat=true",
    )  # fmt: skip
    p.add_argument("-t", "--timeline", action="store_true", help="keep calls in time order")
    p.add_argument("--show", metavar="GLOB", help="always show frames from files matching GLOB")
    p.add_argument("--show-regex", metavar="REGEX", help="as --show, with a regular expression")
    p.add_argument("--hide", metavar="GLOB", help="hide frames from files matching GLOB")
    p.add_argument("--hide-regex", metavar="REGEX", help="as --hide, with a regular expression")
    p.add_argument("--show-all", action="store_true", help="show every frame, hide nothing")
    p.add_argument("--unicode", action=argparse.BooleanOptionalAction, default=None,
                   help="box-drawing characters (default: when the output supports them)")
    p.add_argument("--color", action=argparse.BooleanOptionalAction, default=None,
                   help="colour (default: on a terminal, unless NO_COLOR is set)")
    return p


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"callscope: {message}", file=sys.stderr)
    sys.exit(code)


def parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def make_renderer(args: argparse.Namespace, stream: Optional[IO[str]]) -> Renderer:
    """The renderer for ``args``; ``stream`` is where text goes, None for a file."""
    cls = BY_NAME[args.renderer]
    options: Dict[str, Any] = {}
    processor_options: Dict[str, Any] = {}
    for item in args.render_options:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"render option {item!r} is not KEY=VALUE")
        key = key.strip().replace("-", "_")
        key = key[len("processor_options."):] if key.startswith("processor_options.") else key
        if key in ("filter_threshold", "show", "hide", "show_regex", "hide_regex"):
            processor_options[key] = parse_value(value)
        else:
            options[key] = parse_value(value)
    for key in ("show", "hide", "show_regex", "hide_regex"):
        if getattr(args, key) is not None:
            processor_options[key] = getattr(args, key)
    accepted = cls.options
    if "timeline" in accepted and args.timeline:
        options["timeline"] = True
    if "show_all" in accepted and args.show_all:
        options["show_all"] = True
    if cls is TextRenderer:
        if args.color is None:
            options.setdefault("color", stream is not None and stream_supports_color(stream))
        else:
            options.setdefault("color", args.color)
        if args.unicode is None:
            options.setdefault("unicode", stream is None or stream_supports_unicode(stream))
        else:
            options.setdefault("unicode", args.unicode)
        if processor_options:
            options["processor_options"] = processor_options
    elif processor_options and "processor_options" not in accepted:
        fail(f"the {args.renderer} renderer does not filter frames (--show/--hide)")
    unknown = [k for k in options if k not in accepted]
    if unknown:
        fail(f"the {args.renderer} renderer has no option {unknown[0]!r}")
    try:
        return cls(**options)
    except (TypeError, ValueError) as e:
        fail(f"bad render option: {e}")


def write_output(renderer: Renderer, session: Session, outfile: Optional[str]) -> None:
    try:
        output = renderer.render(session)
    except ValueError as e:
        fail(str(e))
    except RuntimeError as e:  # a package built without its viewer
        fail(str(e), 1)
    if outfile is None and isinstance(renderer, HTMLRenderer) and sys.stdout.isatty():
        show_html(output, None)
    elif outfile:
        mode = "wb" if isinstance(output, bytes) else "w"
        try:
            with open(outfile, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
                f.write(output)
        except OSError as e:
            fail(f"cannot write {outfile}: {e.strerror or e}", 1)
        print(f"callscope: wrote {outfile}", file=sys.stderr)
    elif isinstance(output, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(output if output.endswith("\n") else output + "\n")
        sys.stdout.flush()


def show_html(html: str, outfile: Optional[str]) -> None:
    """Writes ``html`` (to a temporary file without ``outfile``) and opens it."""
    from callscope import report

    try:
        path, opened = report.open_in_browser(html, outfile)
    except OSError as e:
        fail(f"cannot write {outfile or 'a temporary file'}: {e.strerror or e}", 1)
    if opened:
        print(f"callscope: wrote {path} and opened it in the browser", file=sys.stderr)
    else:
        print(f"callscope: no browser found; open {path}", file=sys.stderr)


def html_command(name: str, argv: List[str]) -> NoReturn:
    """``callscope view FILE`` and ``callscope viewer``."""
    from callscope import report

    p = argparse.ArgumentParser(prog=f"callscope {name}")
    if name == "view":
        p.description = "Open a profile (any format callscope reads) as an HTML report."
        p.add_argument("file", metavar="FILE")
    else:
        p.description = "Write the standalone viewer: one HTML file that opens dropped profiles."
        p.add_argument("--embed", metavar="DIR",
                       help="write callscope-viewer.html and callscope-embed.js into DIR, for "
                            "embedding profiles in a docs site (see docs/embedding.md)")
    p.add_argument("-o", "--outfile", metavar="PATH",
                   help="write the HTML here instead of a temporary file opened in the browser")
    args = p.parse_args(argv)
    if getattr(args, "embed", None):
        try:
            for path in report.write_embed_files(args.embed):
                print(f"callscope: wrote {path}", file=sys.stderr)
        except (RuntimeError, ValueError) as e:
            fail(str(e), 1)
        except OSError as e:
            fail(f"cannot write into {args.embed}: {e.strerror or e}", 1)
        sys.exit(0)
    try:
        if name == "view":
            try:
                session = Session.load(args.file)
            except (OSError, SessionLoadError) as e:
                fail(str(e), 1)
            html = report.report(session)
        else:
            html = report.viewer()
    except (RuntimeError, ValueError) as e:
        fail(str(e), 1)
    if args.outfile:
        try:
            report.write(html, args.outfile)
        except OSError as e:
            fail(f"cannot write {args.outfile}: {e.strerror or e}", 1)
        print(f"callscope: wrote {args.outfile}", file=sys.stderr)
    else:
        show_html(html, None)
    sys.exit(0)


def load_session(args: argparse.Namespace) -> Session:
    try:
        if args.load is not None:
            return Session.load(args.load)
        from callscope import history

        return Session.load(str(history.path_of(args.load_prev or None)))
    except (OSError, SessionLoadError) as e:
        fail(str(e), 1)


def finish(renderer: Renderer, session: Session, args: argparse.Namespace) -> None:
    """Writes the output the options ask for; keeps the session for --load-prev."""
    sys.stdout.flush()
    ident = None
    if args.outfile is None:
        from callscope import history

        try:
            ident = history.save(session)
        except OSError as e:
            print(f"callscope: could not keep the session for --load-prev: {e}", file=sys.stderr)
    write_output(renderer, session, args.outfile)
    if ident is not None:
        print(
            f"callscope: to view this session again: callscope --load-prev {ident} [options]",
            file=sys.stderr,
        )
