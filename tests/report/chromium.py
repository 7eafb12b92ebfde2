"""Load a page in headless Chromium over the DevTools protocol, without any Python dependency.

Chromium is started with ``--remote-debugging-pipe``: it reads NUL-terminated JSON commands on
file descriptor 3 and writes responses and events on descriptor 4. The page is opened in a new
target, and everything that would show up as an error in the DevTools console is collected:
``console.error``/``console.assert`` calls, uncaught exceptions, log entries of level ``error``
(e.g. "Failed to load resource") and failed network requests. After the load event, every
``<img>`` reports whether it decoded (``naturalWidth > 0``).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell")


def find_chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in CANDIDATES:
        if path := shutil.which(name):
            return path
    return None


@dataclass
class PageLoad:
    loaded: bool
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    images: list[dict] = field(default_factory=list)  # {alt, src_scheme, complete, naturalWidth}

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.exceptions + self.log_errors + self.failed_requests


class _Pipe:
    def __init__(self, binary: str, profile: str) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def child_fds() -> None:  # runs in the child: its fd 3 reads our commands, fd 4 writes replies
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--remote-debugging-pipe",
                f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _recv(self, deadline: float) -> dict | None:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._res_r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._res_r, 1 << 16)
            if not chunk:
                return None
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 15.0) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv(deadline)
            if reply is None:
                raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            event = self._recv(deadline)
            if event is None:
                return False
            self.events.append(event)
        return True

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (event := self._recv(deadline)) is not None:
            self.events.append(event)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._res_r):
            try:
                os.close(fd)
            except OSError:
                pass


IMAGES_JS = ("JSON.stringify(Array.from(document.images).map(i => ({alt: i.alt, src_scheme: i.src.split(':')[0], "
             "complete: i.complete, naturalWidth: i.naturalWidth})))")


def load_pages(paths: list[Path], binary: str, timeout: float = 30.0) -> list[PageLoad]:
    """Open each local file in a fresh tab of one headless Chromium; collect its errors and image states."""
    out = []
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            for path in paths:
                pipe.events.clear()
                target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
                session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                for domain in ("Runtime", "Log", "Page", "Network"):
                    pipe.call(f"{domain}.enable", session=session)
                pipe.call("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session)
                loaded = pipe.wait_for("Page.loadEventFired", timeout)
                pipe.drain(0.3)  # late console messages
                value = pipe.call("Runtime.evaluate", {"expression": IMAGES_JS, "returnByValue": True}, session=session)
                out.append(_collect([e for e in pipe.events if e.get("sessionId") == session], loaded,
                                    json.loads(value["result"]["value"])))
                pipe.call("Target.closeTarget", {"targetId": target})
        finally:
            pipe.close()
    return out


def _collect(events: list[dict], loaded: bool, images: list[dict]) -> PageLoad:
    result = PageLoad(loaded=loaded, images=images)
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            result.exceptions.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            result.log_errors.append(f"{entry.get('text')} ({entry.get('url', '')})")
        elif method == "Network.loadingFailed":
            result.failed_requests.append(params.get("errorText", "failed"))
        elif method == "Network.requestWillBeSent":
            result.requests.append(params.get("request", {}).get("url", ""))
    return result


def page_text(url: str, binary: str, needles: tuple[str, ...] = (), timeout: float = 60.0) -> str:
    """``document.body.innerText`` of ``url`` (e.g. a single-page app) in headless Chromium, polled until
    every one of ``needles`` is a whole line of it (stripped) or ``timeout`` seconds passed; the last text
    seen is returned."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            pipe.call("Page.enable", session=session)
            pipe.call("Page.navigate", {"url": url}, session=session)
            deadline = time.monotonic() + timeout
            text = ""
            while True:
                try:
                    value = pipe.call("Runtime.evaluate", {"expression": "document.body ? document.body.innerText : ''",
                                                           "returnByValue": True}, session=session)
                    text = value.get("result", {}).get("value") or ""
                except (TimeoutError, RuntimeError):
                    pass
                lines = {line.strip() for line in text.splitlines()}
                if (needles and all(n in lines for n in needles)) or time.monotonic() > deadline:
                    return text
                time.sleep(1.0)
        finally:
            pipe.close()
