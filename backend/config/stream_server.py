"""The live stream's server: uvicorn, on a listening socket opened with SO_REUSEPORT.

    python -m config.stream_server --host 127.0.0.1 --port 5001      (DJANGO_SETTINGS_MODULE=config.settings.stream)

Several stream processes (`./deploy.sh scale stream N`) then share one port, and the kernel spreads
new connections among them, as it does for the API's gunicorn masters (--reuse-port). uvicorn's own
command line has no such option, and its --fd takes a socket as a Unix one; hence this launcher.
"""

import argparse
import asyncio
import socket

import uvicorn


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port that other processes may bind as well (uvicorn listens on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.stream_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        "config.asgi:application",
        # No access_log=False: common/logs.py gives uvicorn.access its handler (a JSON line per
        # request, the access token left out), and uvicorn logs whenever that logger has one.
        proxy_headers=False,  # the per-address limit counts the peer, never a header it could forge
        timeout_graceful_shutdown=5,
        lifespan="off",
    )
    sock = listening_socket(args.host, args.port)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:  # the loop uvicorn would pick
        runner.run(serve(uvicorn.Server(config), sock))


async def serve(server: uvicorn.Server, sock: socket.socket) -> None:
    """Subscribe to the wake-up channel as the process starts, then serve. Left to the first request,
    a replica that no request has reached yet would not be listening: its health check, which any of
    the replicas behind the shared port may answer, would say so at random."""
    from config.asgi import application  # noqa: F401 (Django set up: settings and apps ready)
    from pipeline.stream_hub import get_hub

    get_hub().ensure_listening()
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    main()
