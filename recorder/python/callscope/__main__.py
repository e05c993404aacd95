from callscope import child

# The launcher's child skips the command's own modules (see child.py).
fds = child.fds()
if fds is not None:
    child.run(__import__("sys").argv[1:], *fds)

from callscope.cli import main  # noqa: E402

main()
