"""Load test of `POST /api/events` from a second process, on loopback.

    python3 benches/api_load.py PORT TOKEN CONTACTS.csv [--seconds S] [--clients N] [--batch B]

Each client keeps one HTTP/1.1 connection and posts batches of B events (`opened` for
contacts of the file, each with an idempotency key) as fast as the server answers. Every answer
must be 202 (the events are committed before it). Prints the events per second and the latency
of a request (median, 99th percentile, max).
"""

import argparse
import csv
import http.client
import json
import threading
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("token")
    p.add_argument("contacts")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--batch", type=int, default=100)
    a = p.parse_args()
    with open(a.contacts, newline="") as f:
        ids = [row["id"] for row in csv.DictReader(f)]
    lat = []
    sent = [0]
    errors = []
    lock = threading.Lock()
    stop = time.monotonic() + a.seconds

    def client(n):
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        headers = {"Authorization": "Bearer " + a.token, "Content-Type": "application/json"}
        i = 0
        while time.monotonic() < stop:
            batch = [
                {"contact": ids[(n * 7919 + i * a.batch + k) % len(ids)], "event": "opened",
                 "key": "load-%d-%d-%d" % (n, i, k)}
                for k in range(a.batch)
            ]
            body = json.dumps(batch)
            t0 = time.monotonic()
            c.request("POST", "/api/events", body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            dt = time.monotonic() - t0
            with lock:
                if r.status != 202:
                    errors.append((r.status, data[:200]))
                else:
                    lat.append(dt)
                    sent[0] += a.batch
            i += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    lat.sort()
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000
    print(
        "%d events in %d requests of %d over %.1f s with %d clients: %.0f durable events/s; "
        "latency per request: median %.1f ms, p99 %.1f ms, max %.1f ms; %d errors"
        % (sent[0], len(lat), a.batch, took, a.clients, sent[0] / took, q(0.5), q(0.99),
           lat[-1] * 1000 if lat else 0, len(errors))
    )
    if errors:
        print("first error:", errors[0])
        raise SystemExit(1)


main()
