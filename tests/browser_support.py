"""Reading the review page as a browser does: its DOM, a headless Chromium, the PNG it draws.

Chromium (Debian's `chromium` package) is driven by its command line: `--dump-dom` for
the DOM after parsing, `--screenshot` for the pixels, `--log-net-log` for every request
it makes. Its own background requests (update checks, time queries) are sent to a proxy
at a closed local port and every host name resolves to nothing, so that nothing leaves
the machine; the page's requests are told apart by their network isolation key, which
is the page's `file://` origin.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

# -- the DOM ------------------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def by_id(self) -> dict[str, Node]:
        return {n.attrs["id"]: n for n in self.walk() if "id" in n.attrs}

    def text(self, skip: str | None = None) -> str:
        """Return the text inside, leaving out the elements of class `skip`."""
        out = []
        for child in self.children:
            if isinstance(child, str):
                out.append(child)
            elif skip is None or skip not in child.classes:
                out.append(child.text(skip))
        return "".join(out)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_dom(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def script_lines(pre: Node) -> list[tuple[str, str]]:
    """Return (id, text) of each line of a `pre.sql`, the finding notes left out."""
    return [(child.attrs.get("id", ""), child.text()) for child in pre.children
            if isinstance(child, Node) and "note" not in child.classes]


# -- Chromium -----------------------------------------------------------------------------

_QUIET = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
          "--no-pings", "--disable-quic", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")


def chromium() -> str:
    """Return the Chromium program; skip outside CI when there is none, fail in CI."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("no chromium on PATH: .ci/run installs Debian's chromium package", pytrace=False)
    pytest.skip("no chromium on PATH (apt-get install chromium) to render the review page")


@dataclass
class BrowserRun:
    output: str
    page_requests: list[str]


def run_chromium(page: Path, work: Path, *action: str, fragment: str = "") -> BrowserRun:
    """Load `page` (at `#fragment`) in a fresh headless Chromium doing `action`; return its output and the page's requests."""
    profile, log = work / f"profile-{len(list(work.iterdir()))}", work / f"net-{len(list(work.iterdir()))}.json"
    result = subprocess.run([chromium(), *_QUIET, f"--user-data-dir={profile}", f"--log-net-log={log}", *action,
                             page.resolve().as_uri() + (f"#{fragment}" if fragment else "")], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return BrowserRun(result.stdout, page_requests(log))


def page_requests(net_log: Path) -> list[str]:
    """Return the URL of every request a page loaded from a file made, as Chromium's net log shows them."""
    data = json.loads(net_log.read_text(encoding="utf-8"))
    started = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [event["params"]["url"] for event in data["events"]
            if event["type"] == started and event.get("params", {}).get("network_isolation_key", "").startswith("file://")]


# -- PNG pixels ---------------------------------------------------------------------------


@dataclass
class Picture:
    width: int
    height: int
    colours: int  # distinct colours
    background_share: float  # the share of pixels in the most common colour


def read_png(path: Path) -> Picture:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) and count its colours."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    at, chunks = 8, []
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    counts: Counter[bytes] = Counter()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous, size)
        counts.update(bytes(row[x:x + 3]) for x in range(0, stride, size))
        previous = row
    return Picture(width, height, len(counts), counts.most_common(1)[0][1] / (width * height))


def _unfilter(kind: int, row: bytearray, above: bytearray, size: int) -> bytearray:
    if kind == 1:
        for i in range(size, len(row)):
            row[i] = (row[i] + row[i - size]) & 255
    elif kind == 2:
        for i in range(len(row)):
            row[i] = (row[i] + above[i]) & 255
    elif kind == 3:
        for i in range(len(row)):
            left = row[i - size] if i >= size else 0
            row[i] = (row[i] + ((left + above[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(len(row)):
            a = row[i - size] if i >= size else 0
            b, c = above[i], above[i - size] if i >= size else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return row
