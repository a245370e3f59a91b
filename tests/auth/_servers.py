"""A loopback HTTP server that answers every request with one fixed body, for token answers
no emulator gives (a trickle, a lifetime no clock holds)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Trickle:
    """An HTTP server on 127.0.0.1 that answers every request 200 with ``answer`` (JSON),
    its body sent ``step`` seconds a byte (``step=0``: at once); with ``head=True`` its
    headers too."""

    def __init__(self, answer: bytes, step: float = 0.0, *, head: bool = False) -> None:
        self.answer = answer
        self.step = step
        self.head = head
        # Bytes of the trickled part sent to the last client, and how many it has: a client
        # that gives up early has been sent fewer.
        self.sent = 0
        self.trickled = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            # OSError: the client hung up.
            with conn, contextlib.suppress(OSError):
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"content-length: {len(self.answer)}\r\nconnection: close\r\n\r\n"
        )
        if not self.step:
            conn.sendall(head.encode() + self.answer)
            return
        slow = head.encode() + self.answer if self.head else self.answer
        self.sent, self.trickled = 0, len(slow)
        if not self.head:
            conn.sendall(head.encode())
        for i in range(len(slow)):
            if self.stop.is_set():
                return
            conn.sendall(slow[i : i + 1])
            self.sent = i + 1
            time.sleep(self.step)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()
