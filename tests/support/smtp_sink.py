"""A real SMTP server on loopback for the tests of `cadence run` (aiosmtpd, from Debian's
python3-aiosmtpd). Every accepted message is appended to a JSON-lines log as soon as the server
answers 250, so a test can count what arrived even while it kills the client.

    python3 smtp_sink.py PORT LOG [--reject ADDRESS]... [--tempfail-file PATH] [--ids-only]

- a recipient given with --reject is refused for good: 550 at RCPT;
- while the file given with --tempfail-file exists, every RCPT gets 451 (try again later);
- --ids-only logs only the Message-ID (for load tests).
Prints "ready" on stdout once it listens; stops on SIGTERM or SIGINT.
"""

import argparse
import json
import re
import signal
import sys
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, log, reject, tempfail, ids_only):
        self.log = open(log, "a", encoding="utf-8")
        self.reject = set(a.lower() for a in reject)
        self.tempfail = tempfail
        self.ids_only = ids_only
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        import os

        if self.tempfail and os.path.exists(self.tempfail):
            return "451 4.3.0 Try again later"
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content
        if self.ids_only:
            m = re.search(rb"^Message-ID:\s*(\S+)", raw, re.M | re.I)
            rec = {"message_id": m.group(1).decode() if m else None}
        else:
            msg = message_from_bytes(raw, policy=policy.default)
            body = msg.get_body(preferencelist=("plain", "html"))
            rec = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "message_id": msg["Message-ID"],
                "subject": str(msg["Subject"]),
                "headers": [[k, str(v)] for k, v in msg.items()],
                "content_type": msg.get_content_type() if body is None else body.get_content_type(),
                "body": body.get_content() if body is not None else "",
            }
        with self.lock:
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()
        return "250 2.0.0 Ok: queued"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("log")
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--tempfail-file")
    p.add_argument("--ids-only", action="store_true")
    a = p.parse_args()
    sink = Sink(a.log, a.reject, a.tempfail_file, a.ids_only)
    controller = Controller(sink, hostname="127.0.0.1", port=a.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
