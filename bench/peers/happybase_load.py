"""happybase_load.py DIR HOST PORT TABLE: the batch way into HBase, over Thrift v1.

One row per session (row key <user_id>_<start_time>_<session_id>, as ecom's) with the 16 cells
of families info, geo and device, written through happybase's table.batch(batch_size=1000), the
way a batch loader fills the table. Creates the table with those families first (untimed).
Prints the sessions and cells written and the seconds it took, reading and parsing included.
"""
import json
import os
import sys
import time

import happybase

src, host, port, table_name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
connection = happybase.Connection(host, port, timeout=600000)
if table_name.encode() not in connection.tables():
    connection.create_table(table_name, {"info": dict(max_versions=1), "geo": dict(max_versions=1),
                                         "device": dict(max_versions=1)})
table = connection.table(table_name)
started = time.monotonic()
sessions = cells = 0
with open(os.path.join(src, "sessions.jsonl")) as f, table.batch(batch_size=1000) as batch:
    for line in f:
        s = json.loads(line)
        geo, device = s["geo_data"], s["device_profile"]
        row = {
            b"info:session_id": s["session_id"], b"info:user_id": s["user_id"],
            b"info:start_time": s["start_time"], b"info:end_time": s["end_time"],
            b"info:duration": str(s["duration_seconds"]), b"info:conversion": s["conversion_status"],
            b"info:referrer": s["referrer"],
            b"info:viewed_products": json.dumps(s["viewed_products"], separators=(",", ":")),
            b"info:cart_contents": json.dumps(s["cart_contents"], separators=(",", ":")),
            b"geo:city": geo["city"], b"geo:state": geo["state"], b"geo:country": geo["country"],
            b"geo:ip_address": geo["ip_address"],
            b"device:type": device["type"], b"device:os": device["os"],
            b"device:browser": device["browser"],
        }
        key = f'{s["user_id"]}_{s["start_time"]}_{s["session_id"]}'
        batch.put(key.encode(), {k: v.encode() for k, v in row.items()})
        sessions += 1
        cells += len(row)
seconds = time.monotonic() - started
print(json.dumps({"sessions": sessions, "cells": cells, "seconds": seconds}))
