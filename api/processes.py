"""Several API processes on one port, each listening on a socket of its own (``SO_REUSEPORT``).

uvicorn's workers share one listening socket, and the process that wakes first accepts every
connection waiting on it: a client that opens its keep-alive connections at once (a storefront's
pool, a load balancer, a load test) can find most or all of them on one process while the other
idles (the bench saw 26 of 32, and 32 of 32, on one of two processes). With a socket per process
the kernel spreads new connections over them by a hash of their addresses, as nginx's
``reuseport`` does. uvicorn's supervisor still starts, watches and restarts the processes.
"""

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` that other sockets of this user may bind as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class OwnSocket:
    """What the supervisor hands each process it spawns in place of a shared socket: unpickled in the new
    process, it becomes a socket of that process's own on the port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        return reuse_port_socket, (self.host, self.port)


def serve_in_processes(config: uvicorn.Config) -> None:
    """Serve ``config``'s app from ``config.workers`` processes until the supervisor is told to stop."""
    # Bound and never listening: it holds the port (and names it when the port is 0), and no connection
    # is given to it.
    held = reuse_port_socket(config.host, config.port)
    host, port = held.getsockname()[:2]
    try:
        Multiprocess(config, sockets=[OwnSocket(host, port)]).run()  # type: ignore[list-item]
    finally:
        held.close()
