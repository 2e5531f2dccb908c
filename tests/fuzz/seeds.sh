#!/usr/bin/env bash
# Seed corpora for the harnesses, made at test time from `ecom generate --output -` (nothing of
# them is committed): one file per message value for each decoder, sampled so that every session
# event type and page type is there; for the JSON reader, messages of every kind as published and
# the same messages spelled otherwise (every non-ASCII character and some ASCII ones as \u
# escapes, pretty-printed whitespace, nested near the depth limit); the times, dates and user ids
# those messages carry for the parsers; and Redis URLs of every form built around the generated
# hosts and ids.
#
# usage: seeds.sh ECOM_BIN OUT_DIR
set -euo pipefail
ecom=$1
out=$2
rm -rf "$out"
mkdir -p "$out"
"$ecom" generate --seed 7 --scale 0.001 --end 2025-06-01 --output - 2>/dev/null >"$out/gen.ndjson"
python3 - "$out" <<'PY'
import json, os, re, sys
out = sys.argv[1]
PER_KIND = 120  # files per decoder: enough variety, quick to load
kinds = {}
times, users = set(), set()
with open(os.path.join(out, "gen.ndjson"), "rb") as f:
    for line in f:
        t0 = line.index(b'"topic":"') + 9
        topic = line[t0:line.index(b'"', t0)].decode()
        value = line[line.index(b'"value":', t0) + 8:-2]  # the published bytes, as they are
        kind = topic.split(".")[-1]
        doc = json.loads(value)
        # one bucket per event type and page type, so rare shapes are not crowded out
        shape = (kind, doc.get("type"), doc.get("page_type"))
        kinds.setdefault(kind, {}).setdefault(shape, []).append(value)
        for m in re.finditer(rb'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"', value):
            times.add(m.group(1))
        if "user_id" in doc:
            users.add(doc["user_id"].encode())
for kind, shapes in kinds.items():
    d = os.path.join(out, "decode_" + kind)
    os.makedirs(d)
    n, per_shape = 0, max(1, PER_KIND // len(shapes))
    for values in shapes.values():
        for v in values[:per_shape]:
            open(os.path.join(d, "%04d" % n), "wb").write(v)
            n += 1
# the JSON reader: a few messages of each kind, as published and spelled otherwise
jsonr_dir = os.path.join(out, "jsonr")
os.makedirs(jsonr_dir)
def write_seed(data):
    path = os.path.join(jsonr_dir, "%04d" % len(os.listdir(jsonr_dir)))
    open(path, "wb").write(data)
for kind, shapes in sorted(kinds.items()):
    for values in shapes.values():
        for v in values[:2]:
            doc = json.loads(v)
            write_seed(v)
            escaped = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
            escaped = escaped.replace("_", "\\u005f").replace("/", "\\/")
            write_seed(escaped.encode())
            write_seed(json.dumps(doc, ensure_ascii=False, indent=2).encode())
write_seed(json.dumps({"name": "caf\u00e9 \U0001F600 \u20ac"}, ensure_ascii=True).encode())
write_seed(b'{"schema_version":1,"deep":' + b"[" * 2047 + b"]" * 2047 + b"}")
# '#', n, a message: the message nested 2048 - n % 8 arrays down (see fuzz_jsonr.c)
for kind, shapes in sorted(kinds.items()):
    v = next(iter(shapes.values()))[0]
    for depth_less in (1, 3, 5):
        write_seed(b"#" + bytes([depth_less]) + v)
def write_all(name, items):
    d = os.path.join(out, name)
    os.makedirs(d)
    for i, item in enumerate(sorted(items)[:200]):
        open(os.path.join(d, "%04d" % i), "wb").write(item)
write_all("time", times | {t[:10] for t in times})
write_all("user_id", users)
urls = {b"redis://127.0.0.1:6379", b"redis://cache", b"redis://[::1]:6380/2", b"redis://:s@h/1",
        b"redis://ecom:s%40cr%3At@cache.local:6380/3", b"redis://secret@h:1/"}
for u in sorted(users)[:20]:
    urls.add(b"redis://" + u + b":p%2Fw@" + u.replace(b"_", b"-") + b".local:6379/0")
write_all("redis_url", urls)
os.remove(os.path.join(out, "gen.ndjson"))
PY
for d in "$out"/*; do
  echo "seeds: $(basename "$d"): $(find "$d" -type f | wc -l) files"
done
