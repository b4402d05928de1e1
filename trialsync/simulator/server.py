"""Run the simulator in a background thread on 127.0.0.1 (tests, the benchmark, the demo)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import uvicorn

from trialsync.simulator.app import Simulator, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(sim: Simulator, port: int | None = None, timeout: float = 10.0):
    """Yield the base URL (…/CCSWEB) of the simulator served in a thread; stop it afterwards."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(sim), host="127.0.0.1", port=port, log_level="critical",
                                           timeout_keep_alive=30))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True, name="cc-simulator")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the simulator did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/CCSWEB"
    finally:
        server.should_exit = True
        thread.join(timeout)
