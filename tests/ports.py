"""Free TCP ports for the servers that tests and benchmarks start on 127.0.0.1."""

from __future__ import annotations

import random
import socket

#: Below Linux's default ephemeral range (32768-60999). A port that the kernel hands out
#: for binding to port 0 comes from that range, and so does the source port of every
#: outgoing connection: a database client could take it before the server binds it.
LISTEN_PORTS = range(20_000, 32_768)


def free_port() -> int:
    """Return a port of 127.0.0.1 that nothing listens on or connects from right now."""
    for port in random.sample(LISTEN_PORTS, 50):  # nosec B311 - not a secret
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(
        f"no free port found in {LISTEN_PORTS.start}-{LISTEN_PORTS.stop - 1} after 50 tries"
    )
