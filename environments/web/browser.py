"""One headless Chromium driven by async Playwright, restarted when it dies.

Playwright cannot download its own browser on these machines, so Debian's /usr/bin/chromium is
launched through `executable_path`. A crash (the browser process killed, out of memory) is seen
through the `disconnected` event; every live page then belongs to a dead `generation`, and the
next `context()` call starts a fresh browser. Each page gets its own browser context, so sibling
branches never share cookies or storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing; the message says how to install them."""


def chromium_path() -> str:
    """The Chromium to launch: $TREEAGENT_CHROMIUM, /usr/bin/chromium, or one on PATH."""
    for candidate in (os.environ.get("TREEAGENT_CHROMIUM"), CHROMIUM, shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise BrowserUnavailable(
        "no Chromium found: install it with `apt-get install -y chromium` (or set TREEAGENT_CHROMIUM)"
    )


class Browser:
    """A lazily launched Chromium; `generation` counts restarts so stale pages can be told apart."""

    def __init__(self, *, executable: str | None = None, viewport: tuple[int, int] = (800, 600)) -> None:
        self.executable = executable
        self.viewport = viewport
        #: a unique switch on the browser's command line, so its process can be found (and, in
        #: tests, killed) without touching any other Chromium on the machine.
        self.marker = f"--treeagent-browser={uuid.uuid4().hex}"
        self.generation = 0
        self.restarts = 0
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def context(self) -> Any:
        """A new browser context (restarting the browser first if it died)."""
        browser = await self._ensure()
        width, height = self.viewport
        return await browser.new_context(viewport={"width": width, "height": height})

    async def _ensure(self) -> Any:
        if self.alive:
            return self._browser
        async with self._lock:
            if self.alive:
                return self._browser
            if self._browser is not None:  # it died: drop it and start again
                self.restarts += 1
                await self._drop_browser()
            await self._launch()
            return self._browser

    async def _launch(self) -> None:
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            raise BrowserUnavailable("Playwright is not installed: pip install 'treeagent[web]'") from None
        executable = self.executable or chromium_path()
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=executable, args=[*LAUNCH_ARGS, self.marker], headless=True
        )
        self.generation += 1
        generation = self.generation

        def on_disconnect(_: Any) -> None:
            if self.generation == generation:
                self.generation += 1  # every page of the dead browser is stale now

        self._browser.on("disconnected", on_disconnect)

    async def _drop_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 5)

    def pids(self) -> list[int]:
        """The browser's main process and all its descendants (renderers, GPU, utility)."""
        main = _find_marked(self.marker)
        if main is None:
            return []
        children: dict[int, list[int]] = {}
        for pid, ppid in _process_parents():
            children.setdefault(ppid, []).append(pid)
        out, todo = [], [main]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, ()))
        return out

    def memory_mb(self) -> float:
        """Proportional set size of the whole browser, in MiB (shared pages split fairly)."""
        total_kb = 0
        for pid in self.pids():
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        return total_kb / 1024.0

    async def close(self) -> None:
        await self._drop_browser()
        if self._playwright is not None:
            playwright, self._playwright = self._playwright, None
            with contextlib.suppress(Exception):
                await playwright.stop()


def _find_marked(marker: str) -> int | None:
    """The pid of the process whose command line carries `marker` and whose parent does not."""
    marked = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline.split(b"\0"):
            marked.add(int(entry.name))
    parents = dict(_process_parents())
    for pid in sorted(marked):
        if parents.get(pid) not in marked:
            return pid
    return None


def _process_parents() -> list[tuple[int, int]]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        out.append((int(entry.name), int(fields[1])))
    return out
