"""Serving run folders with Tiled: the app, who may read it, and where it listens.

Safe by default: it listens on 127.0.0.1 unless told another host, and beyond the
loopback only with an API key (Tiled's single-user key: a request without it is refused).
The tree is read-only. Documented in ``docs/lab-service.md``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
import threading

from cryo_acq.station.clock import WaitTimeout, WallClock, wait_until

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8000


class ServiceError(ValueError):
    """A serve request refused before anything listens (one line, for the user)."""


def is_loopback(host: str) -> bool:
    """Does ``host`` name this computer only (what anything served listens on by default)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond the loopback without a key, and a key Tiled would refuse."""
    if api_key is not None and (not api_key or not api_key.isalnum()):
        raise ServiceError("the API key must be letters and digits only (e.g. python -c \"import secrets; "
                           "print(secrets.token_hex(32))\")")
    if api_key is not None and len(api_key) < 16:
        raise ServiceError("the API key is too short: use at least 16 letters and digits")
    if not is_loopback(host) and api_key is None:
        raise ServiceError(f"serving on {host} (beyond this computer) needs --api-key KEY (or CRYO_ACQ_API_KEY): "
                           "anyone who can reach the port could read every run")


def build_app(folders, api_key: str | None = None):
    """The Tiled app over ``folders``: anyone on the loopback may read it when ``api_key``
    is None; with a key, only requests that carry it."""
    from tiled.config import Authentication
    from tiled.server.app import build_app as tiled_app

    from .tree import lab_tree

    tree = lab_tree(folders)
    if api_key is None:  # both set: Tiled keeps its settings per process
        authentication = Authentication(allow_anonymous_access=True, single_user_api_key=secrets.token_hex(32))
    else:
        authentication = Authentication(allow_anonymous_access=False, single_user_api_key=api_key)
    return tiled_app(tree, authentication, {})


def serve(folders, host: str = LOOPBACK, port: int = DEFAULT_PORT, api_key: str | None = None) -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn

    check_exposure(host, api_key)
    app = build_app(folders, api_key)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(folders, api_key: str | None = None, host: str = LOOPBACK, port: int | None = None):
    """Serve ``folders`` from a thread for the ``with`` block; yields the server's URL."""
    import uvicorn

    check_exposure(host, api_key)
    port = free_port(host) if port is None else port
    config = uvicorn.Config(build_app(folders, api_key), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, name="tiled-server", daemon=True)
    thread.start()
    try:
        wait_until(WallClock(), lambda: server.started or not thread.is_alive(), timeout=30.0, poll=0.02,
                   what="the run server to start")
    except WaitTimeout:
        pass
    if not server.started:
        server.should_exit = True
        raise RuntimeError(f"the run server did not start on {host}:{port}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def api_key_from_environment() -> str | None:
    return os.environ.get("CRYO_ACQ_API_KEY") or None
