"""Headless Chromium (Debian's package) for the HTML report tests: DOM, console, screenshot, PDF.

Chromium is installed by ``tests/support/ensure_chromium.sh`` (``make chromium``, a prerequisite of
``make pytest``); when it is missing, ``chromium()`` runs that script once, under a lock shared by the
pytest-xdist workers. Every run gets a fresh profile folder and the flags that keep Chromium off the
network. Console messages come from ``--enable-logging=stderr --v=0``: each is a log line tagged
``CONSOLE``.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ENSURE_SCRIPT = Path(__file__).with_name("ensure_chromium.sh")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
CONSOLE_LINE = re.compile(r"[:\]]CONSOLE[:(]\d+")
TIMEOUT = 90


def chromium() -> str:
    """The chromium executable, installed first if missing; the test fails if it cannot be had."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    lock_path = Path(tempfile.gettempdir()) / "dmarc-ensure-chromium.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["sh", str(ENSURE_SCRIPT)], capture_output=True, text=True, timeout=900)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(f"headless Chromium is needed and could not be installed: {result.stderr.strip()}")
    return found


@dataclass
class Run:
    """One Chromium run: what it printed, its log and the console messages in the log."""

    stdout: str
    log: str
    returncode: int

    @property
    def console(self) -> list[str]:
        return [line for line in self.log.splitlines() if CONSOLE_LINE.search(line)]


class Browser:
    """Start Chromium runs side by side, then collect them (each takes about a second of CPU)."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self._started: list[tuple[subprocess.Popen[str], Path]] = []

    def open(
        self, page: Path, *, screenshot: Path | None = None, pdf: Path | None = None, size: str = "1280,2000"
    ) -> int:
        """Start one run: the DOM on stdout, and a screenshot and a PDF print when asked."""
        profile = Path(tempfile.mkdtemp(prefix="profile-", dir=self.workdir))
        outputs = [f"--screenshot={screenshot}", f"--window-size={size}"] if screenshot else []
        outputs += [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"] if pdf else []
        command = [
            self.executable,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            *outputs,
            page.resolve().as_uri(),
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._started.append((process, profile))
        return len(self._started) - 1

    def collect(self) -> list[Run]:
        runs = []
        for process, profile in self._started:
            try:
                stdout, log = process.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, log = process.communicate()
            runs.append(Run(stdout, log, process.returncode))
            shutil.rmtree(profile, ignore_errors=True)
        self._started = []
        return runs


@dataclass(frozen=True)
class PngFacts:
    width: int
    height: int
    size: int
    distinct_bytes: int
    """How many different byte values the decompressed image data holds (1 or 2: a blank page)."""


def png_facts(path: Path) -> PngFacts:
    """Check the PNG's structure and decompress its image data."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, image, width, height, channels = 8, b"", 0, 0, 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8, f"bit depth {depth}"
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            image += body
        offset += 12 + length
    pixels = zlib.decompress(image)
    assert len(pixels) == height * (1 + width * channels), "image data does not fit the header"
    return PngFacts(width, height, len(data), len(set(pixels)))


def pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF"), "not a PDF"
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
