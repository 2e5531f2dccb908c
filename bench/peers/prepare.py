"""prepare.py NDJSON DIR: the batch system's input files, from `ecom generate --output` NDJSON.

The loaders in this folder load what a batch pipeline would have on disk: one JSON document per
line and per entity, reference data in its final version (the last one published for an id), and
one document per session with the fields its session_start and session_end events carry. Run
before the timing starts; the loaders' own time covers reading and parsing these files.
"""
import json
import os
import sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
reference = {"categories": {}, "products": {}, "users": {}}
ids = {"categories": "category_id", "products": "product_id", "users": "user_id"}
transactions = open(os.path.join(out, "transactions.jsonl"), "w")
sessions = {}
with open(src) as f:
    for line in f:
        message = json.loads(line)
        kind = message["topic"].rsplit(".", 1)[-1]
        value = message["value"]
        value.pop("schema_version", None)
        if kind in reference:
            reference[kind][value[ids[kind]]] = value
        elif kind == "transactions":
            transactions.write(json.dumps(value) + "\n")
        elif kind == "session_events" and value["type"] in ("session_start", "session_end"):
            s = sessions.setdefault(value["session_id"], {})
            if value["type"] == "session_start":
                s.update(session_id=value["session_id"], user_id=value["user_id"],
                         start_time=value["start_time"], referrer=value["referrer"],
                         geo_data=value["geo_data"], device_profile=value["device_profile"])
            else:
                s.update(start_time=value["start_time"], end_time=value["ts"],
                         duration_seconds=value["duration_seconds"],
                         conversion_status=value["conversion_status"],
                         viewed_products=value["viewed_products"],
                         cart_contents=value["cart_contents"])
transactions.close()
for kind, docs in reference.items():
    with open(os.path.join(out, kind + ".jsonl"), "w") as f:
        for doc in docs.values():
            f.write(json.dumps(doc) + "\n")
with open(os.path.join(out, "sessions.jsonl"), "w") as f:
    for s in sessions.values():
        if "session_id" in s and "end_time" in s:
            f.write(json.dumps(s) + "\n")
