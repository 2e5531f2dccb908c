"""pymongo_load.py DIR URI DB: the batch way into MongoDB, one insert_many per collection.

Reads each file prepare.py wrote, turns every line into the document ecom's sink stores (_id =
the natural id, times as dates, money as integers), and hands each collection's whole list to
pymongo's insert_many, which splits it into the server's maximum batches itself. Then it creates
the indexes ecom's store has (a batch loader builds them once the data is in), so both end in
the same state. Prints the documents written and the seconds it took, reading, parsing and
indexing included.
"""
import datetime
import json
import os
import sys
import time

import pymongo

src, uri, db_name = sys.argv[1:4]
ids = {"categories": "category_id", "products": "product_id", "users": "user_id",
       "transactions": "transaction_id"}


def date(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def document(kind, d):
    d["_id"] = d[ids[kind]]
    if kind == "products":
        d["creation_date"] = date(d["creation_date"])
        for p in d["price_history"]:
            p["date"] = date(p["date"])
    elif kind == "users":
        d["registration_date"] = date(d["registration_date"])
        d["last_active"] = date(d["last_active"])
    elif kind == "transactions":
        d["timestamp"] = date(d["timestamp"])
    return d


client = pymongo.MongoClient(uri)
db = client[db_name]
started = time.monotonic()
written = 0
for kind in ("categories", "products", "users", "transactions"):
    with open(os.path.join(src, kind + ".jsonl")) as f:
        docs = [document(kind, json.loads(line)) for line in f]
    if docs:
        written += len(db[kind].insert_many(docs).inserted_ids)
for collection, field in (("transactions", "user_id"), ("transactions", "timestamp"),
                          ("transactions", "session_id"), ("transactions", "items.product_id"),
                          ("products", "category_id"), ("users", "registration_date")):
    db[collection].create_index(field, name=field + "_1")
seconds = time.monotonic() - started
print(json.dumps({"documents": written, "seconds": seconds}))
