"""The terminal every command writes to: stdout for results, stderr for messages.

Command modules import their consoles from here, never from the app, so that no command
module imports the app back.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text

# No emoji codes: `schema.sql:100:` in a message must not turn into a picture. Soft wrap:
# a line is never broken by rich, only by the terminal showing it, so that a pipe or a
# log gets each message whole (rich would cut at 80 columns when it sees no terminal).
out = Console(emoji=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, soft_wrap=True)


# Control characters but tab and newline: what a message quotes from a script, an engine or
# a ledger row must not move the cursor, clear the screen or retitle the window.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print `text` as it is, control characters escaped: no markup, no highlighting, never wrapped mid-line."""
    console.print(visible(text), style=style, markup=False, highlight=False, soft_wrap=True)


def visible(text: str) -> str:
    """Return `text` with each control character (but tab and newline) written as its \\xNN escape."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def say_lines(console: Console, lines: list[tuple[str, str | None]]) -> None:
    """Print many lines as `say` does, each with its style, in one call.

    rich's work per call outweighs the line itself: `verify` over 5,000 bundles printed
    35,000 lines in 4 s one by one. Where there is no terminal (a pipe, a file, CI) rich
    would draw no style, so the lines are written as they are, without rich.
    """
    if not lines:
        return
    if not console.is_terminal and not console.record:  # no styles to draw: the text as it is, at once
        console.file.write("".join(visible(line) + "\n" for line, _ in lines))
        return
    text = Text("\n").join(Text(visible(line), style=style or "") for line, style in lines)
    console.print(text, markup=False, highlight=False, soft_wrap=True)
