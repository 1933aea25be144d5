#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Frame-level tests of the control socket of a running tollgate
(control/rpc_server.c), run by tests/e2e/test_control.sh as root:

  test_rpc_server.py SOCKET

Every request type answers with its id and status 0 (show-dns: 0 or
-EOPNOTSUPP until the DNS proxy exposes its names); an unknown type gets
-EOPNOTSUPP on a connection that stays usable; garbage, a wrong version, an
oversized length and a frame cut short close only their own connection,
while a second client, connected all along, is still served. Prints one line
per check; exits 1 if any failed."""
import errno
import json
import socket
import struct
import sys

MAGIC = 0x54474331
VERSION = 1
HDR = struct.Struct("!IHHIiI")
MAX_PAYLOAD = 4 << 20
TYPES = {"hello": 1, "apply": 2, "show-rules": 3, "show-sessions": 4, "show-snat": 5,
         "show-stats": 6, "show-interfaces": 7, "show-routes": 8, "show-neighbors": 9,
         "metrics": 10, "show-dns": 11}

fails = 0


def check(name, ok, detail=""):
    global fails
    print("  %-4s %s%s" % ("OK" if ok else "FAIL", name, ": " + detail if detail else ""))
    if not ok:
        fails += 1


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def frame(typ, rid, payload=b"", version=VERSION, length=None):
    return HDR.pack(MAGIC, version, typ, rid, 0,
                    len(payload) if length is None else length) + payload


pending = {}  # bytes received past the last frame, per socket


def read_frame(s):
    buf = pending.pop(s, b"")
    while len(buf) < HDR.size:
        chunk = s.recv(65536)
        if not chunk:
            return None
        buf += chunk
    magic, version, typ, rid, status, length = HDR.unpack(buf[:HDR.size])
    while len(buf) < HDR.size + length:
        chunk = s.recv(65536)
        if not chunk:
            return None
        buf += chunk
    pending[s] = buf[HDR.size + length:]
    return typ, rid, status, buf[HDR.size:HDR.size + length]


def closed_by_peer(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def main():
    path = sys.argv[1]
    other = connect(path)  # connected all along; must be served at the end

    s = connect(path)
    rid = 100
    for name, typ in TYPES.items():
        if name == "apply":
            continue
        rid += 1
        payload = b"format=json\n" if name != "metrics" else b""
        s.sendall(frame(typ, rid, payload))
        got = read_frame(s)
        ok = got is not None and got[0] == typ and got[1] == rid
        if name == "show-dns":
            ok = ok and got[2] in (0, -errno.EOPNOTSUPP)
        else:
            ok = ok and got[2] == 0
        if ok and name != "metrics" and got[2] == 0:
            try:
                json.loads(got[3])
            except ValueError as e:
                ok = False
                got = (got[0], got[1], got[2], b"not JSON: %s" % str(e).encode())
        check("request %s answered (id %d, status 0, JSON)" % (name, rid), ok,
              "" if ok else repr(got)[:300])

    # apply with a policy that does not parse: -EINVAL, a message
    rid += 1
    s.sendall(frame(TYPES["apply"], rid, b"name=bad.yaml\n\nrule_collection_groups: 7\n"))
    got = read_frame(s)
    check("apply of a bad policy: -EINVAL with a message",
          got is not None and got[2] == -errno.EINVAL and b"bad.yaml" in got[3],
          repr(got)[:200])

    # unknown type: answered, connection stays
    s.sendall(frame(999, 7))
    got = read_frame(s)
    check("unknown type 999: -EOPNOTSUPP", got is not None and got[1] == 7 and
          got[2] == -errno.EOPNOTSUPP, repr(got)[:200])
    s.sendall(frame(TYPES["hello"], 8))
    got = read_frame(s)
    check("same connection still served after an unknown type",
          got is not None and got[1] == 8 and got[2] == 0)
    # two requests in one write: two answers, in order
    s.sendall(frame(TYPES["hello"], 9) + frame(TYPES["show-routes"], 10))
    a, b = read_frame(s), read_frame(s)
    check("two pipelined requests: two answers in order",
          a is not None and b is not None and (a[1], b[1]) == (9, 10))
    s.close()

    for name, data in [("garbage", b"GET / HTTP/1.1\r\n\r\n"),
                       ("wrong version", frame(TYPES["hello"], 1, version=9)),
                       ("oversized length", frame(TYPES["hello"], 1, length=MAX_PAYLOAD + 1))]:
        k = connect(path)
        k.sendall(data)
        check("%s: connection closed" % name, closed_by_peer(k))
        k.close()

    # truncated: half a header, then the client goes away; and a header
    # promising more payload than comes
    k = connect(path)
    k.sendall(frame(TYPES["hello"], 1)[:11])
    k.close()
    k = connect(path)
    k.sendall(frame(TYPES["show-stats"], 1, length=1000) + b"x" * 10)
    k.settimeout(0.5)
    try:
        early = k.recv(1)
        waiting = False
    except socket.timeout:
        early, waiting = b"", True
    check("frame cut short: the server waits for the rest (no answer, not closed)",
          waiting, repr(early))
    k.close()

    other.sendall(frame(TYPES["hello"], 42, b"format=json\n"))
    got = read_frame(other)
    check("a client connected all along is still served", got is not None and got[1] == 42
          and got[2] == 0)
    other.close()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
