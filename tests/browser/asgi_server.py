"""The project's ASGI application (HTTP and websockets) served by Daphne, for the browser tests.

`python -m tests.browser.asgi_server <database name>` runs the test settings on the given (test)
database, listens on a free port of 127.0.0.1 and prints `PORT <number>` as its first line on stdout.
SIGTERM stops it. Started by the `asgi_live_server` fixture (tests/browser/conftest.py).
"""

from __future__ import annotations

import os
import sys


def main(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = database  # before anything connects

    import django

    django.setup()

    # Daphne installs Twisted's asyncio reactor when imported: before anything imports the reactor.
    from channels.routing import get_default_application
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from twisted.internet import reactor

    server = Server(
        application=ASGIStaticFilesHandler(get_default_application()),
        endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0),
        signal_handlers=True,
    )

    def announce_port() -> None:
        if not server.listening_addresses:
            reactor.callLater(0.05, announce_port)
            return
        print(f"PORT {server.listening_addresses[0][1]}", flush=True)
        # Whatever is printed later goes to the log: nobody reads the pipe any more, and a full pipe
        # would block the server.
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    reactor.callLater(0.05, announce_port)
    server.run()


if __name__ == "__main__":
    main(sys.argv[1])
