# SPDX-License-Identifier: BSD-3-Clause
"""HTTPS (and plain HTTP) test server that counts what each client sent.

    python3 tls_server.py --listen ADDR:PORT [--listen ...] --cert C --key K
                          --log FILE [--plain ADDR:PORT ...]

Every connection is logged as one JSON line when it ends:
    {"peer": "IP:PORT", "local": "IP:PORT", "tls": true, "sni": "name",
     "raw_bytes": N, "app_bytes": M, "status": "ok|handshake-failed|..."}
raw_bytes counts every byte the client's TCP stream delivered (hello
included), app_bytes the decrypted application bytes (the HTTP request).
A firewall that refuses a name before forwarding any payload leaves both at
zero. TLS goes through a MemoryBIO so that the raw count is exact.

Requests get `200 OK` with body "hello from NAME\n" (NAME: the SNI or Host).
"""
import argparse
import json
import socket
import ssl
import sys
import threading


SNI = {}  # id(SSLObject) -> the server_name its ClientHello carried


def log_line(path, lock, rec):
    with lock:
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")


def response(name):
    body = ("hello from %s\n" % name).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def serve_tls(conn, peer, local, ctx, args, lock):
    rec = {"peer": "%s:%d" % peer, "local": "%s:%d" % local, "tls": True,
           "sni": None, "raw_bytes": 0, "app_bytes": 0, "status": "ok"}
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_side=True)
    conn.settimeout(15)

    def pump_out():
        data = out.read()
        if data:
            conn.sendall(data)

    def pump_in():
        data = conn.recv(65536)
        if not data:
            raise EOFError
        rec["raw_bytes"] += len(data)
        inc.write(data)

    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump_out()
                pump_in()
        pump_out()
        rec["sni"] = SNI.pop(id(tls), None)
        req = b""
        while b"\r\n\r\n" not in req and len(req) < 65536:
            try:
                chunk = tls.read(65536)
                if not chunk:
                    break
                req += chunk
            except ssl.SSLWantReadError:
                pump_in()
        rec["app_bytes"] = len(req)
        tls.write(response(rec["sni"] or "?"))
        pump_out()
        try:
            tls.unwrap()
            pump_out()
        except (ssl.SSLError, ssl.SSLWantReadError):
            pass
    except EOFError:
        rec["status"] = "eof"
    except ConnectionResetError:
        rec["status"] = "reset"
    except socket.timeout:
        rec["status"] = "timeout"
    except ssl.SSLError as e:
        rec["status"] = "tls-error: %s" % e.reason
    except OSError as e:
        rec["status"] = "error: %s" % e
    finally:
        conn.close()
        log_line(args.log, lock, rec)


def serve_plain(conn, peer, local, args, lock):
    rec = {"peer": "%s:%d" % peer, "local": "%s:%d" % local, "tls": False,
           "host": None, "raw_bytes": 0, "app_bytes": 0, "status": "ok"}
    conn.settimeout(15)
    req = b""
    try:
        while b"\r\n\r\n" not in req and len(req) < 65536:
            data = conn.recv(65536)
            if not data:
                break
            req += data
        rec["raw_bytes"] = rec["app_bytes"] = len(req)
        for line in req.split(b"\r\n")[1:]:
            if line.lower().startswith(b"host:"):
                rec["host"] = line[5:].strip().decode("latin-1")
        if req:
            conn.sendall(response(rec["host"] or "?"))
        else:
            rec["status"] = "eof"
    except ConnectionResetError:
        rec["status"] = "reset"
    except OSError as e:
        rec["status"] = "error: %s" % e
    finally:
        conn.close()
        log_line(args.log, lock, rec)


def listener(addr, handler):
    host, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(1024)

    def loop():
        while True:
            conn, peer = s.accept()
            threading.Thread(target=handler, args=(conn, peer, conn.getsockname()),
                             daemon=True).start()
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--plain", action="append", default=[])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    lock = threading.Lock()
    threads = []
    if args.listen:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["http/1.1"])
        ctx.sni_callback = lambda obj, name, c: SNI.__setitem__(id(obj), name)
        for a in args.listen:
            threads.append(listener(a, lambda c, p, l: serve_tls(c, p, l, ctx, args, lock)))
    for a in args.plain:
        threads.append(listener(a, lambda c, p, l: serve_plain(c, p, l, args, lock)))
    print("tls_server: ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    sys.exit(main())
