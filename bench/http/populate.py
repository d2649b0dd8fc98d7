#!/usr/bin/env python3
"""populate.py — creates the benchmark's secure values over HTTPS.

Usage: populate.py BASE_URL CA CERT KEY COUNT [FIRST]

Creates SecureValues "sv-<i>" for i in FIRST (default 0) .. COUNT-1 in
namespace "bench-<i mod 3>", each
decryptable by bench-svc, from 8 threads with keep-alive connections and the
given client certificate (the admin's, mapped to a server admin). Exits 1
unless every create is answered 201. The values are benchmark filler, not
secrets.
"""
import http.client
import json
import ssl
import sys
import threading
import urllib.parse

THREADS = 8


def main() -> int:
    base, ca, cert, key, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    url = urllib.parse.urlsplit(base)
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    failures = []

    def worker(start: int) -> None:
        conn = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=30)
        for i in range(start, count, THREADS):
            ns = f"bench-{i % 3}"
            body = json.dumps({"metadata": {"name": f"sv-{i}"},
                               "spec": {"description": "bench", "value": f"bench-value-{i:06d}",
                                        "decrypters": ["bench-svc"]}})
            conn.request("POST", f"/apis/secret.grafana.app/v1beta1/namespaces/{ns}/securevalues",
                         body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                failures.append(f"sv-{i}: {response.status}")
                return

    threads = [threading.Thread(target=worker, args=(first + t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("populate: creates failed: " + ", ".join(failures[:5]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
