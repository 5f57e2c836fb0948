"""A minimal Chromium DevTools-protocol client over ``--remote-debugging-pipe``.

Chromium reads commands from file descriptor 3 and writes replies and events to 4, as
NUL-terminated JSON; no websocket library is needed. Enough to open pages, run JS,
collect console messages and exceptions, and take screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any


class Browser:
    """Headless Chromium with one page; ``errors`` collects console errors and exceptions."""

    def __init__(self, binary: str, flags: list[str], profile: Path) -> None:
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        # the child's ends above 9, so that moving them onto 3 and 4 cannot clash
        low = (to_child, from_child)
        to_child, from_child = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in low)
        for fd in low:
            os.close(fd)
        keep = [
            f
            for f in flags
            if not f.startswith(("--virtual-time-budget", "--enable-logging", "--v="))
        ]
        command = [binary, *keep, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                   "--window-size=1280,1600", "about:blank"]  # fmt: skip

        def onto_3_and_4() -> None:  # in the child, before exec: where Chromium looks
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.process = subprocess.Popen(
            command,
            close_fds=False,  # fds 3 and 4 are made after the close would run
            preexec_fn=onto_3_and_4,  # noqa: PLW1509
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("ATLAS_CDP_LOG", os.devnull), "w"),  # noqa: SIM115
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []
        self.errors: list[str] = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def _send(self, message: dict) -> None:
        os.write(self._write, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time.")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe.")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self._event(message)
        return message

    def _event(self, message: dict) -> None:
        self.events.append(message)
        method, params = message["method"], message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning"):
            self.errors.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            self.errors.append(f"exception: {params['exceptionDetails']}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")

    def call(self, method: str, session: bool = False, timeout: float = 60, **params: Any) -> dict:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        start = len(self.events)
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[start:]:
                if event["method"] == method:
                    return event
            start = len(self.events)
            self._receive(deadline)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")

    def click(self, selector: str) -> str:
        """Click the first element matching ``selector`` and wait for the next page."""
        self.events.clear()
        href = self.evaluate(
            f"(function(){{var a=document.querySelector({json.dumps(selector)});"
            "if(!a)return null;a.click();return a.href||'';})()"
        )
        if href is None:
            raise AssertionError(f"No element matches {selector!r} on {self.url()}.")
        self.wait_event("Page.loadEventFired")
        return href

    def url(self) -> str:
        return self.evaluate("window.location.href")

    def broken_images(self) -> list[str]:
        """Images (``<img>`` and CSS backgrounds) that did not load."""
        return self.evaluate(
            """(async function(){
              var bad=[];
              Array.prototype.forEach.call(document.images,function(i){
                if(!i.complete||i.naturalWidth===0)bad.push(i.src);});
              var urls={};
              Array.prototype.forEach.call(document.querySelectorAll('[style]'),function(e){
                var m=e.style.backgroundImage.match(/url\\("?([^")]*)"?\\)/);if(m)urls[m[1]]=1;});
              for(var u in urls){
                var ok=await new Promise(function(r){var i=new Image();
                  i.onload=function(){r(i.naturalWidth>0)};i.onerror=function(){r(false)};
                  i.src=new URL(u,document.baseURI).href;});
                if(!ok)bad.push(u);}
              return bad;})()"""
        )

    def image_count(self) -> int:
        return self.evaluate("document.images.length")

    def screenshot(self, path: Path) -> Path:
        height = self.evaluate("Math.min(4000, document.documentElement.scrollHeight)")
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1280,
                  height=int(height), deviceScaleFactor=1, mobile=False)  # fmt: skip
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._read)
        os.close(self._write)
