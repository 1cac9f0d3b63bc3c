"""`rhymer serve` in a real browser: headless Chromium clicks Rhyme and a couplet appears.

Debian's `chromium` (installed by .ci/run) is driven by Playwright's Python package through
`executable_path`, since no browser can be downloaded. Outside CI the test is skipped when
either is missing; in CI (CI=true) a missing one is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rhymer.corpus import read_corpus
from rhymer.rhymes import rhyme_level

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)")
TITLE = re.compile(r"lstm · ([a-z'-]+) / ([a-z'-]+) · (perfect|multi|slant)")


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="module")
def served_model(tiny_model: Path, small_corpus: Path, tmp_path_factory: Any) -> Path:
    """A copy of the tiny model with its Markov baseline."""
    from rhymer.markov import MarkovEngine

    model = tmp_path_factory.mktemp("served") / "tiny"
    shutil.copytree(tiny_model, model)
    MarkovEngine.train(read_corpus(small_corpus)).save(model)
    return model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "rhymer serve exited early"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"rhymer serve did not listen on port {port}")


def cells(model: Path, size: tuple[int, int], env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """The terminal cells at the middle of the seed box and the Rhyme button, laid out by
    Textual itself at the browser terminal's `size`."""
    from tui.app import RhymerApp

    found: dict[str, tuple[int, int]] = {}

    async def layout() -> None:
        app = RhymerApp(model, models_root=model.parent)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for name in ("seed", "rhyme"):
                region = app.screen.query_one(f"#{name}").region
                found[name] = (region.x + min(2, region.width // 2), region.y + region.height // 2)

    # Playwright's sync API holds this thread's event loop, so lay out in another thread.
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        thread = threading.Thread(target=lambda: asyncio.run(layout()))
        thread.start()
        thread.join(60)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return found


def screen_text(frames: list[bytes]) -> str:
    """What the app wrote to the browser terminal so far, escape sequences removed."""
    return ANSI.sub("", b"".join(frames).decode("utf-8", errors="replace"))


def test_rhymer_serve_in_headless_chromium(served_model: Path, tmp_path: Path) -> None:
    _need(CHROMIUM.is_file(), "Debian's chromium is not installed (apt-get install chromium).")
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        _need(False, "Playwright's Python package is not installed.")

    port = free_port()
    env = {
        **os.environ,
        "RHYMER_DATA_DIR": str(tmp_path / "data"),
        "OMP_NUM_THREADS": "1",
        "RHYMER_RNG_SEED": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "rhymer", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--model", str(served_model)]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    frames: list[bytes] = []
    sizes: list[tuple[int, int]] = []

    def on_socket(ws: Any) -> None:
        def received(data: str | bytes) -> None:
            frames.append(data if isinstance(data, bytes) else data.encode())

        ws.on("framereceived", received)

        def sent(data: str | bytes) -> None:
            if isinstance(data, str) and data.startswith('["resize"'):
                size = json.loads(data)[1]
                sizes.append((size["width"], size["height"]))

        ws.on("framesent", sent)

    try:
        wait_for_port(port, proc)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("websocket", on_socket)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.wait_for_selector("body.-first-byte", timeout=60_000)
            deadline = time.monotonic() + 60
            while "Rhyme" not in screen_text(frames) or not sizes:
                assert time.monotonic() < deadline, "the app never drew its Rhyme screen"
                page.wait_for_timeout(200)
            page.wait_for_timeout(500)  # let the last resize settle the layout
            cols, rows = sizes[-1]
            where = cells(served_model, (cols, rows), env)
            box = page.locator(".xterm-screen").bounding_box()
            assert box is not None

            def click(name: str) -> None:
                x, y = where[name]
                cell_w, cell_h = box["width"] / cols, box["height"] / rows
                page.mouse.click(box["x"] + (x + 0.5) * cell_w, box["y"] + (y + 0.5) * cell_h)

            click("seed")
            page.keyboard.type("night")
            page.wait_for_timeout(300)
            before = len(frames)
            click("rhyme")
            deadline = time.monotonic() + 90
            while not (found := TITLE.search(screen_text(frames[before:]))):
                assert time.monotonic() < deadline, "no couplet appeared after clicking Rhyme"
                page.wait_for_timeout(250)
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "rhymer-browser.png"))
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    first, second, _ = found.groups()
    assert first == "night" and rhyme_level(first, second) in ("perfect", "multi", "slant")
    assert (tmp_path / "rhymer-browser.png").stat().st_size > 10_000
