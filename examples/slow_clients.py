"""Clients that send slowly on purpose: what a hostile app does to hold a server's resources.

``SlowBodies`` opens connections that each declare a create body and send it a byte at a time;
the benchmark (``bench/hostile.py``), the hostile e2e suite and ``make demo`` use it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from urllib.parse import urlsplit

DECLARED = 1000


class SlowBodies:
    """``count`` connections of the app ``api_key``, each a create declaring ``DECLARED``
    bytes of body and sending one byte every ``every_s`` from a thread, until ``stop``."""

    def __init__(self, base_url: str, api_key: str, count: int, every_s: float = 0.5) -> None:
        address = urlsplit(base_url)
        self.sockets: list[socket.socket] = []
        head = (
            "POST /v1/carts HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {DECLARED}\r\n\r\n{{"
        ).encode()
        for _ in range(count):
            sock = socket.create_connection((address.hostname, address.port), timeout=5)
            sock.sendall(head)
            self.sockets.append(sock)
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        sent = 1
        while sent < DECLARED and not self._stop.wait(self._every_s):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server: the point
                    sock.sendall(b" ")
            sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def endings(self, within_s: float) -> list[bytes]:
        """What each connection was answered (its status line), reading until it is closed or
        ``within_s`` has passed; ``b""`` for none."""
        ends = time.monotonic() + within_s
        answers = []
        for sock in self.sockets:
            sock.settimeout(max(0.05, ends - time.monotonic()))
            try:
                answers.append(sock.recv(65536).split(b"\r\n", 1)[0])
            except OSError:
                answers.append(b"")
        return answers

    def close(self) -> None:
        self.stop()
        for sock in self.sockets:
            sock.close()
