"""The in-process transport: requests and httpx calls to a fake's URL answered without a socket.

A fake in the ``in-process`` transport (``--logscale-transport=in-process``, or
``with fake.in_process(): ...``) still listens on its port, and every other
client (curl, Node.js, a subprocess) still reaches it over HTTP. What changes is
that the Python clients most tests use, ``requests`` and ``httpx``, hand a
request for the fake's address straight to the same WSGI app the server runs:
same answers, same journal, same faults, without a connection, a thread switch
or the kernel on the way. Requests to any other address go out as usual.

This package knows WSGI and the two clients, and none of the fake's layers:
the fake gives it an app and the header fields its server adds to each answer.
"""

from .routes import Route, routed

__all__ = ["Route", "routed"]
