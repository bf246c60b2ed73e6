"""A TCP proxy on 127.0.0.1 that tests put in front of a database server to fake outages.

The shared database servers must keep running for other test sessions, so instead of
stopping one, a test points the service at this proxy and makes the proxy fail:
`stop()` acts like a stopped server (open connections close, new ones are refused),
`freeze()` like a server that accepts connections but never responds, and `resume()`
brings the server back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

BUFFER_SIZE = 65536


class TcpProxy:
    """Forward connections from a free 127.0.0.1 port to `target` until `stop` or `freeze`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._frozen = False
        self._listener: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        _spawn(self._accept_loop, listener)

    def resume(self) -> None:
        """Forward new connections again, on the same port, after `stop` or `freeze`."""
        self._frozen = False
        # Connections accepted while frozen never got a response, so clients reconnect.
        self._close_connections()
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        """Close the listener and every open connection, as a stopped server does."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone does not.
            _shutdown(listener)
            listener.close()
        self._close_connections()

    def freeze(self) -> None:
        """Close open connections, then accept new ones without forwarding a byte."""
        self._frozen = True
        self._close_connections()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            self._track(client)
            if self._frozen:
                continue  # held open and silent until stop() or the next freeze()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._untrack(client)
                continue
            upstream.settimeout(None)
            self._track(upstream)
            _spawn(self._pump, client, upstream)
            _spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(BUFFER_SIZE):
                sink.sendall(data)
        except OSError:
            pass
        self._untrack(source)
        self._untrack(sink)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _shutdown(sock)
        sock.close()

    def _close_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _shutdown(sock)
            sock.close()


def _shutdown(sock: socket.socket) -> None:
    # OSError: the socket was already closed or never connected.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _spawn(target: Callable[..., None], *args: object) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()
