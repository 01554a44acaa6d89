#!/usr/bin/env python3
"""A loopback stand-in for Grafana Pyroscope's HTTP ingest endpoint, for the --push tests.

It takes what Pyroscope's POST /ingest takes and checks it the way the server does: the query's
`name` (APP{k=v,...}), `from` and `until` (Unix seconds) are required, `format=pprof` needs a
multipart/form-data body whose `profile` part is the (gzipped) pprof. A request that passes is
answered 200 and recorded in --dir as NNN.json (path, query, headers) plus NNN.pb.gz (the
profile part); one that does not is answered 400 and recorded as NNN.rejected.json.

--down-after N --down-seconds S: after the Nth accepted request the listening socket is
closed for S seconds (connections are refused, as from a server that is down), then opened
again on the same port. The port is written to --port-file once listening; SIGTERM ends it.
"""
import argparse
import email.parser
import email.policy
import http.server
import json
import os
import signal
import sys
import time
import urllib.parse


class State:
    count = 0
    accepted = 0
    go_down = False


def parse_name(name):
    """APP{k=v,...} -> (app, {k: v}), or None when malformed."""
    if "{" not in name:
        return (name, {}) if name else None
    if not name.endswith("}"):
        return None
    app, _, rest = name.partition("{")
    labels = {}
    body = rest[:-1]
    if body:
        for item in body.split(","):
            k, eq, v = item.partition("=")
            if not eq or not k:
                return None
            labels[k] = v
    return app, labels


def multipart_parts(content_type, body):
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        return None
    parts = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[name] = part.get_payload(decode=True)
    return parts


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # quiet
            pass

        def reply(self, code, text):
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            State.count += 1
            n = State.count
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            record = {"path": url.path, "query": query, "headers": dict(self.headers.items()),
                      "received_unix": time.time()}
            problem = None
            if url.path != "/ingest":
                problem = "unknown path " + url.path
            elif parse_name(query.get("name", "")) is None:
                problem = "missing or malformed name"
            elif not query.get("from", "").isdigit() or not query.get("until", "").isdigit():
                problem = "from and until must be Unix seconds"
            elif query.get("format") != "pprof":
                problem = "expected format=pprof"
            else:
                parts = multipart_parts(self.headers.get("Content-Type", ""), body)
                if not parts or not parts.get("profile"):
                    problem = "expected a multipart/form-data body with a 'profile' part"
            if problem:
                record["problem"] = problem
                with open(os.path.join(args.dir, "%03d.rejected.json" % n), "w") as f:
                    json.dump(record, f)
                self.reply(400, problem)
                return
            app, labels = parse_name(query["name"])
            record["app"] = app
            record["labels"] = labels
            with open(os.path.join(args.dir, "%03d.pb.gz" % n), "wb") as f:
                f.write(parts["profile"])
            with open(os.path.join(args.dir, "%03d.json" % n), "w") as f:
                json.dump(record, f)
            self.reply(200, "")
            State.accepted += 1
            if args.down_after and State.accepted == args.down_after:
                State.go_down = True

    return Handler


def serve(args, port):
    server = http.server.HTTPServer(("127.0.0.1", port), make_handler(args))
    server.timeout = 0.2
    return server


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--down-after", type=int, default=0)
    ap.add_argument("--down-seconds", type=float, default=3.0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    http.server.HTTPServer.allow_reuse_address = True
    server = serve(args, 0)
    port = server.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, args.port_file)
    while True:
        server.handle_request()
        if State.go_down:
            State.go_down = False
            server.server_close()
            with open(os.path.join(args.dir, "down.json"), "w") as f:
                json.dump({"down_unix": time.time()}, f)
            time.sleep(args.down_seconds)
            server = serve(args, port)
            with open(os.path.join(args.dir, "up.json"), "w") as f:
                json.dump({"up_unix": time.time()}, f)


if __name__ == "__main__":
    main()
