"""spark_check.py MANIFEST RESULT RECORDS: spark_aggregate.py's RESULT against the generator's
MANIFEST: every day's sales (orders, revenue_cents, units) and funnel (viewed, carted, converted),
the funnel's totals, the distinct transactions and sessions, and RECORDS, the facts published,
against the records the job read. Prints each difference and exits 1 if there is any.
"""
import json
import sys

manifest, spark = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
published = int(sys.argv[3])
diffs = []


def compare(name, want, got, source="manifest"):
    if want != got:
        diffs.append(f"{name}: {source} {want}, Spark {got}")


def by_day(rows):
    return {r["day"]: {k: v for k, v in r.items() if k != "day"} for r in rows}


for metric, want, got in (("daily_sales", manifest["daily_sales"], spark["daily_sales"]),
                          ("funnel", manifest["funnel"]["by_day"], spark["funnel"]["by_day"])):
    want, got = by_day(want), by_day(got)
    for day in sorted(set(want) | set(got)):
        compare(f"{metric} {day}", want.get(day), got.get(day))
compare("funnel total", manifest["funnel"]["total"], spark["funnel"]["total"])
for count in ("transactions", "sessions"):
    compare(f"distinct {count}", manifest["counts"][count], spark["counts"][count])
compare("records read", published, spark["records"], "published")
if diffs:
    print(f"bench: Spark's numbers differ from the manifest in {len(diffs)} places:", file=sys.stderr)
    for line in diffs[:40]:
        print("  " + line, file=sys.stderr)
    if len(diffs) > 40:
        print(f"  ... and {len(diffs) - 40} more", file=sys.stderr)
    sys.exit(1)
