"""uvicorn's HTTP/1.1 protocol (h11), answering malformed HTTP with the JSON error shape.

A request h11 cannot parse (a garbled request line, a bad header, broken chunked
framing, a header block over h11's 16 KiB limit when it arrives in pieces) never
reaches the app: uvicorn answers it itself, in plain text. This subclass sends the
documented ``{"error": ...}`` body instead, with the same ``400`` status and
``Connection: close``.

What cannot be changed from here: when the request was already handed to the app (the
headers parsed, the body framing broken later), the app's own answer is on its way,
so the connection is simply closed; and a peer that sends no HTTP at all gets no answer.
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["JsonErrorH11Protocol"]

_BODY = b'{"error":"Invalid HTTP request"}'


class JsonErrorH11Protocol(H11Protocol):
    """``H11Protocol`` whose answer to malformed HTTP is ``400 {"error": ...}`` as JSON."""

    def send_400_response(self, msg: str) -> None:
        """Answer malformed HTTP with JSON, or close when an answer has already begun."""
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            # The app is already handling this request: from now on its sends are
            # dropped and its reads see a disconnect, as after a lost connection.
            cycle.disconnected = True
            cycle.message_event.set()
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.close()
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(_BODY)).encode()),
            (b"connection", b"close"),
        ]
        try:
            head = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
            self.transport.write(self.conn.send(head))
            self.transport.write(self.conn.send(h11.Data(data=_BODY)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:  # h11 refuses to answer in this state: just close
            pass
        self.transport.close()
