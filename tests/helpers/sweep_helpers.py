"""Sweep functions for the tests (importable by subprocesses through ``sys.path``).

Also a TCP server that is not a Dask scheduler, for the executor and CLI tests.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np

from jamming.sweeps.spec import SweepSpec, shared_root_seed

#: This folder, for subprocesses that must import this module.
HELPERS = Path(__file__).resolve().parent


def logged_square(params: dict) -> dict:
    """Square ``x`` slowly, appending the point to the log file named in ``$SWEEP_LOG``."""
    time.sleep(float(os.environ.get("SWEEP_DELAY", "0")))
    with open(os.environ["SWEEP_LOG"], "a") as log:
        log.write(f"{params['x']}\n")
        log.flush()
        os.fsync(log.fileno())
    return {"square": params["x"] ** 2, "noise": np.random.default_rng(params["seed"]).random(3)}


def fragile(params: dict) -> dict:
    """Fail for negative ``x`` unless ``$FRAGILE_HEALED`` is set."""
    if params["x"] < 0 and not os.environ.get("FRAGILE_HEALED"):
        raise ArithmeticError(f"negative x = {params['x']}")
    return {"root": abs(params["x"]) ** 0.5}


def grid(n: int, root_seed: int = 1000) -> list[dict]:
    """``n`` points with distinct seeds."""
    return [{"x": i, "seed": root_seed + i} for i in range(n)]


LOGGED = SweepSpec("test-logged", logged_square, "1", lambda scale, root: grid(40, root),
                   shared_root_seed(1000), "test sweep")
FRAGILE = SweepSpec("test-fragile", fragile, "1",
                    lambda scale, root: [{"x": x} for x in (-2, -1, 1, 4)],
                    shared_root_seed(0), "test sweep")


@contextlib.contextmanager
def not_a_scheduler(answer: bytes | None):
    """A TCP server on 127.0.0.1 that sends ``answer`` and closes, or (``None``) stays silent.

    Yields its address, ``tcp://127.0.0.1:PORT``.
    """
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop, held = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            held.append(connection)
            if answer is not None:
                connection.sendall(answer)
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()
        for connection in held:
            connection.close()


HTTP_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nBad Request"
