#!/usr/bin/env python3
"""Readiness probes for compose/local/stack, Python standard library only.

  probe.py thrift PORT   HBase Thrift v1 (TBinaryProtocol, unframed): calls
                         getTableNames() and succeeds only on a REPLY carrying the
                         success field, i.e. the Thrift server is up AND it can reach
                         the HBase master.  Prints the number of tables.
  probe.py thrift2 PORT  HBase Thrift2 (THBaseService, same protocol): the same check
                         with listNamespaces().  Prints the number of namespaces.
  probe.py mongo PORT    MongoDB wire protocol (FerretDB): OP_MSG {ping: 1} on
                         "admin", succeeds only on a reply document with ok == 1.

Exit status 0 = ready; anything else = not ready (the reason goes to stderr).
Always talks to 127.0.0.1.
"""
import socket
import struct
import sys

HOST = "127.0.0.1"
TIMEOUT = 10


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return buf


def thrift(port, name=b"getTableNames", what="tables"):
    # TBinaryProtocol strict message header: version|type, name, seqid; then the
    # (empty) arguments struct, which is just a STOP byte.
    seqid = 1
    call = struct.pack(">Ii", 0x80010001, len(name)) + name + struct.pack(">i", seqid) + b"\x00"
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as s:
        s.sendall(call)
        (word,) = struct.unpack(">I", recv_exact(s, 4))
        if word & 0xFFFF0000 != 0x80010000:
            sys.exit("not a strict TBinaryProtocol reply (framed transport on the server?)")
        mtype = word & 0xFF
        (n,) = struct.unpack(">i", recv_exact(s, 4))
        mname = recv_exact(s, n)
        (rseq,) = struct.unpack(">i", recv_exact(s, 4))
        if mtype == 3:
            sys.exit("server answered with a TApplicationException")
        if mtype != 2 or mname != name or rseq != seqid:
            sys.exit(f"unexpected message type={mtype} name={mname!r} seqid={rseq}")
        # the result: field 0 = success (a list), field 1 = io (IOError / TIOError)
        ftype = recv_exact(s, 1)[0]
        if ftype == 0:
            sys.exit("empty result struct")
        (fid,) = struct.unpack(">h", recv_exact(s, 2))
        if fid == 0 and ftype == 15:
            _etype, size = struct.unpack(">bi", recv_exact(s, 5))
            print(f"{size} {what}")
            return
        if fid == 1 and ftype == 12:
            sys.exit("HBase returned IOError (master not ready yet?)")
        sys.exit(f"unexpected result field id={fid} type={ftype}")


def bson_doc(elements):
    body = b"".join(elements) + b"\x00"
    return struct.pack("<i", len(body) + 4) + body


def bson_find_ok(doc):
    """Return the numeric value of the top-level "ok" field of a BSON document."""
    i, end = 4, len(doc) - 1
    sizes = {0x01: 8, 0x10: 4, 0x12: 8, 0x08: 1, 0x09: 8, 0x11: 8, 0x07: 12, 0x0A: 0}
    while i < end:
        etype = doc[i]
        j = doc.index(b"\x00", i + 1)
        key = doc[i + 1:j]
        i = j + 1
        if key == b"ok":
            if etype == 0x01:
                return struct.unpack_from("<d", doc, i)[0]
            if etype == 0x10:
                return struct.unpack_from("<i", doc, i)[0]
            if etype == 0x12:
                return struct.unpack_from("<q", doc, i)[0]
            return None
        if etype in sizes:
            i += sizes[etype]
        elif etype in (0x02, 0x0D, 0x0E):  # string-like: int32 length + bytes
            i += 4 + struct.unpack_from("<i", doc, i)[0]
        elif etype in (0x03, 0x04):  # embedded document / array
            i += struct.unpack_from("<i", doc, i)[0]
        elif etype == 0x05:  # binary: int32 length + subtype + bytes
            i += 5 + struct.unpack_from("<i", doc, i)[0]
        else:
            return None
    return None


def mongo(port):
    doc = bson_doc([
        b"\x10ping\x00" + struct.pack("<i", 1),
        b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00",
    ])
    body = struct.pack("<I", 0) + b"\x00" + doc  # flagBits, section kind 0, document
    request_id = 1
    msg = struct.pack("<iiii", 16 + len(body), request_id, 0, 2013) + body  # OP_MSG
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as s:
        s.sendall(msg)
        length, _rid, response_to, opcode = struct.unpack("<iiii", recv_exact(s, 16))
        payload = recv_exact(s, length - 16)
    if opcode != 2013 or response_to != request_id:
        sys.exit(f"unexpected reply opcode={opcode} responseTo={response_to}")
    if payload[4] != 0:
        sys.exit("unexpected OP_MSG section kind")
    ok = bson_find_ok(payload[5:])
    if ok != 1:
        sys.exit(f"ping answered ok={ok}")
    print("ok")


def thrift2(port):
    thrift(port, b"listNamespaces", "namespaces")


def main():
    probes = {"thrift": thrift, "thrift2": thrift2, "mongo": mongo}
    if len(sys.argv) != 3 or sys.argv[1] not in probes:
        sys.exit(__doc__)
    try:
        probes[sys.argv[1]](int(sys.argv[2]))
    except (OSError, ValueError, struct.error) as e:
        sys.exit(f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
