"""A program whose function and file names are markup: a report must show them as text."""

import sys

EVIL = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
SOURCE = """
def work():
    total = 0
    for i in range(3_000_000):
        total += i % 3
    return total
"""

namespace = {}
exec(compile(SOURCE, EVIL + ".py", "exec"), namespace)
work = namespace["work"]
names = {"co_name": EVIL}
if sys.version_info >= (3, 11):
    names["co_qualname"] = EVIL
work.__code__ = work.__code__.replace(**names)
# Before 3.11 a code object has no qualified name: callscope takes the function's.
work.__qualname__ = EVIL
work()
