"""The benchmark's event stream, from the real Python sentry-sdk.

  replay.py capture N FILE        the SDK's envelopes for N events (20 error
                                  sites, varying messages), gzipped as the
                                  SDK sends them, one base64 line each
  replay.py send URL KEY FILE C   posts them with C concurrent keep-alive
                                  connections; prints {sent, accepted,
                                  started_at, seconds, statuses} as JSON,
                                  started_at (Unix time) when the first
                                  request went out
"""
import base64
import gzip
import http.client
import json
import queue
import sys
import threading
import time
import urllib.parse

import sentry_sdk
from sentry_sdk.transport import Transport


class Recorder(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope.serialize())


def site(n, i):
    # Twenty call sites, so the stream makes twenty issues, as an app's errors do.
    def inner():
        raise ValueError(f"order {i} failed at step {n}: upstream answered 503 after {100 + i % 900} ms")
    inner.__name__ = f"step_{n}"
    return inner


def capture(count, path):
    recorder = Recorder()
    sentry_sdk.init(dsn="http://0123456789abcdef0123456789abcdef@localhost/1", transport=recorder,
                    release="bench@1.0.0", environment="production")
    sentry_sdk.set_user({"id": "bench-user"})
    for i in range(count):
        try:
            site(i % 20, i)()
        except ValueError:
            sentry_sdk.capture_exception()
    sentry_sdk.flush()
    with open(path, "w") as out:
        for envelope in recorder.envelopes:
            out.write(base64.b64encode(gzip.compress(envelope)).decode() + "\n")
    print(json.dumps({"captured": len(recorder.envelopes)}))


def send(url, key, path, concurrency):
    bodies = [base64.b64decode(line) for line in open(path)]
    target = urllib.parse.urlsplit(url)
    work = queue.Queue()
    for body in bodies:
        work.put(body)
    statuses = {}
    lock = threading.Lock()
    headers = {
        "Content-Type": "application/x-sentry-envelope",
        "Content-Encoding": "gzip",
        "X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/{sentry_sdk.VERSION}",
    }

    def worker():
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                return
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1

    started_at = time.time()
    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    print(json.dumps({"sent": len(bodies), "accepted": statuses.get(200, 0), "started_at": started_at,
                      "seconds": seconds,
                      "statuses": statuses}))


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        capture(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
