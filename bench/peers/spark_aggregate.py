"""spark_aggregate.py BROKERS PREFIX WORKDIR: daily sales and the exact per-day funnel, the way a
Spark Structured Streaming job computes them, as the peer of `ecom aggregate`.

Two streaming queries read PREFIX+"transactions" and PREFIX+"session_events" from their earliest
offsets with trigger(availableNow=True) on local[2]: every record the topics hold when the query
starts, in as many micro-batches as Spark likes, then stop. Each message is parsed by from_json
with the topic's explicit schema, and the metrics follow SPEC section 5:

- daily sales: transactions deduplicated by transaction_id (a message published twice counts
  once), grouped by the UTC day of `timestamp`: orders, the sum of total_cents, the sum of the
  items' quantities;
- funnel: each event maps to the steps it brings (any event: the session; a product_detail page
  view: viewed; a cart_add: carted; a converted session_end: converted), deduplicated by
  (session_id, step) - an exact distinct count, no approximation - and grouped by the UTC day of
  the session's start (`start_time`, which every event carries).

Both aggregations run in complete mode into memory sinks, read back once the queries end. The
checkpoints and anything else Spark writes go under WORKDIR. Prints one JSON object on stdout: the
manifest's `daily_sales` and `funnel` (total and by_day, days with sessions), the distinct
transactions and sessions, the records read from Kafka (the queries' numInputRows), and the
seconds from a ready SparkSession to both queries' end (the JVM's start-up and the Kafka
package's resolution excluded).

Settings: Spark's defaults, except spark.driver.memory, 4g (BENCH_SPARK_MEMORY; the default
1 GB heap is enough at scale 0.1 and runs out at seed scale, whose one availableNow batch holds
26 million records' deduplication state), and spark.sql.shuffle.partitions, 4 (BENCH_SPARK_PARTITIONS) instead of 200 - two per
core of local[2], as one tunes a local job: each stateful operator keeps a state store per
partition, and 200 of them made the job four times slower at scale 0.01. The UI and its console
progress bar are off and the driver binds 127.0.0.1, so the job opens no port beyond loopback; the
session time zone is UTC, which to_date needs for UTC days. spark.jars.packages brings the Kafka
source, which Ivy resolves from Maven Central into spark.jars.ivy (BENCH_SPARK_IVY, default
~/.cache/ecom/ivy) the first time and from there, offline, afterwards; `spark_aggregate.py
--resolve WORKDIR` only does that, so that a first run's downloads are not timed.
"""
import json
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (ArrayType, LongType, MapType, StringType, StructField, StructType,
                               TimestampType)

KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"
IVY = os.path.expanduser("~/.cache/ecom/ivy")


def struct(*fields):
    return StructType([StructField(name, kind) for name, kind in fields])


SEGMENT = struct(("device", StringType()), ("referrer", StringType()), ("country", StringType()))

TRANSACTION = struct(
    ("schema_version", LongType()), ("transaction_id", StringType()),
    ("session_id", StringType()), ("user_id", StringType()), ("timestamp", TimestampType()),
    ("items", ArrayType(struct(("product_id", StringType()), ("quantity", LongType()),
                               ("unit_price_cents", LongType()),
                               ("subtotal_cents", LongType())))),
    ("subtotal_cents", LongType()), ("discount_cents", LongType()), ("total_cents", LongType()),
    ("payment_method", StringType()), ("status", StringType()), ("segment", SEGMENT))

SESSION_EVENT = struct(
    ("schema_version", LongType()), ("event_id", StringType()), ("type", StringType()),
    ("session_id", StringType()), ("user_id", StringType()), ("ts", TimestampType()),
    ("start_time", TimestampType()), ("segment", SEGMENT),
    # session_start
    ("device_profile", struct(("type", StringType()), ("os", StringType()),
                              ("browser", StringType()))),
    ("geo_data", struct(("city", StringType()), ("state", StringType()),
                        ("country", StringType()), ("ip_address", StringType()))),
    ("referrer", StringType()),
    # page_view
    ("seq", LongType()), ("page_type", StringType()), ("product_id", StringType()),
    ("category_id", StringType()), ("view_duration", LongType()),
    # cart_add
    ("quantity", LongType()), ("unit_price_cents", LongType()),
    # session_end
    ("duration_seconds", LongType()), ("conversion_status", StringType()),
    ("transaction_id", StringType()), ("viewed_products", ArrayType(StringType())),
    ("cart_contents", MapType(StringType(), LongType())))


def read_topic(spark, brokers, topic, schema):
    raw = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", brokers)
           .option("subscribe", topic)
           .option("startingOffsets", "earliest")
           .load())
    return raw.select(F.from_json(F.col("value").cast("string"), schema).alias("m")).select("m.*")


def daily_sales(transactions):
    units = F.aggregate("items", F.lit(0).cast("long"), lambda acc, item: acc + item.quantity)
    return (transactions.where(F.col("transaction_id").isNotNull())
            .dropDuplicates(["transaction_id"])
            .groupBy(F.to_date("timestamp").alias("day"))
            .agg(F.count(F.lit(1)).alias("orders"), F.sum("total_cents").alias("revenue_cents"),
                 F.sum(units).alias("units")))


def funnel_steps(events):
    step = (F.when((F.col("type") == "page_view") & (F.col("page_type") == "product_detail"),
                   "viewed")
            .when(F.col("type") == "cart_add", "carted")
            .when((F.col("type") == "session_end") & (F.col("conversion_status") == "converted"),
                  "converted"))
    return (events.where(F.col("session_id").isNotNull())
            .select("session_id", F.to_date("start_time").alias("day"),
                    F.explode(F.array_compact(F.array(F.lit("sessions"), step))).alias("step"))
            .dropDuplicates(["session_id", "step"])
            .groupBy("day", "step")
            .count())


def start(frame, name):
    return (frame.writeStream.outputMode("complete").format("memory").queryName(name)
            .trigger(availableNow=True).start())


def records_read(query):
    return sum(p["numInputRows"] for p in query.recentProgress)


def session(workdir):
    return (SparkSession.builder.master("local[2]").appName("ecom-bench-aggregate")
            .config("spark.jars.packages", KAFKA_PACKAGE)
            .config("spark.jars.ivy", os.environ.get("BENCH_SPARK_IVY", IVY))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", os.environ.get("BENCH_SPARK_MEMORY", "4g"))
            .config("spark.sql.shuffle.partitions", os.environ.get("BENCH_SPARK_PARTITIONS", "4"))
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.streaming.checkpointLocation", os.path.join(workdir, "checkpoints"))
            .config("spark.sql.streaming.numRecentProgressUpdates", "100000")
            .config("spark.local.dir", os.path.join(workdir, "local"))
            .getOrCreate())


def main():
    if sys.argv[1] == "--resolve":
        session(sys.argv[2]).stop()
        return
    brokers, prefix, workdir = sys.argv[1:4]
    os.chdir(workdir)  # spark-warehouse and the like, if Spark writes any
    spark = session(workdir)
    spark.sparkContext.setLogLevel("WARN")

    t0 = time.monotonic()
    sales = start(daily_sales(read_topic(spark, brokers, prefix + "transactions", TRANSACTION)),
                  "daily_sales")
    funnel = start(funnel_steps(read_topic(spark, brokers, prefix + "session_events",
                                           SESSION_EVENT)), "funnel")
    sales.awaitTermination()
    funnel.awaitTermination()
    seconds = time.monotonic() - t0

    result = {"daily_sales": [], "funnel": {"total": {}, "by_day": []}}
    transactions = 0
    for row in spark.sql("SELECT * FROM daily_sales ORDER BY day").collect():
        result["daily_sales"].append({"day": row.day.isoformat(), "revenue_cents": row.revenue_cents,
                                      "orders": row.orders, "units": row.units})
        transactions += row.orders
    days = {}
    for row in spark.sql("SELECT * FROM funnel").collect():
        days.setdefault(row.day.isoformat(), {})[row.step] = row["count"]
    steps = ("viewed", "carted", "converted")
    for day in sorted(d for d in days if days[d].get("sessions")):
        result["funnel"]["by_day"].append({"day": day, **{s: days[day].get(s, 0) for s in steps}})
    for s in steps:
        result["funnel"]["total"][s] = sum(d.get(s, 0) for d in days.values())
    result["counts"] = {"transactions": transactions,
                        "sessions": sum(d.get("sessions", 0) for d in days.values())}
    result["records"] = records_read(sales) + records_read(funnel)
    result["batches"] = len(sales.recentProgress) + len(funnel.recentProgress)
    result["seconds"] = round(seconds, 3)
    spark.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
