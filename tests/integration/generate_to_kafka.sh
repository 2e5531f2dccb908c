#!/usr/bin/env bash
# A small backfill published to the real Kafka holds exactly what the generator meant to
# publish: per topic the same message count, keys, ids and content digest as the NDJSON of the
# same seed, no invalid message, and distinct ids equal to the manifest's counts.
source "$(dirname "$0")/lib.sh"
: "${TOPIC_CENSUS:?set by ctest}"

prefix=$(unique_prefix gen)
scale="${ECOM_TEST_SCALE:-0.01}"
args=(--seed 11 --scale "$scale" --end 2025-06-01 --topic-prefix "$prefix")
"$ECOM_BIN" init --topic-prefix "$prefix" --partitions 3
"$ECOM_BIN" generate "${args[@]}" --manifest "$ECOM_TEST_TMP/manifest.json"
"$ECOM_BIN" generate "${args[@]}" --output "$ECOM_TEST_TMP/gen.ndjson"

"$TOPIC_CENSUS" --brokers "$ECOM_BROKERS" --topic-prefix "$prefix" >"$ECOM_TEST_TMP/kafka.json"
"$TOPIC_CENSUS" --topic-prefix "$prefix" --ndjson "$ECOM_TEST_TMP/gen.ndjson" \
  >"$ECOM_TEST_TMP/ndjson.json"

for topic in categories products users transactions session_events dlq; do
  for field in messages distinct_keys distinct_ids distinct_event_ids invalid digest; do
    want=$(json_get "$ECOM_TEST_TMP/ndjson.json" "d['$topic']['$field']")
    got=$(json_get "$ECOM_TEST_TMP/kafka.json" "d['$topic']['$field']")
    expect_eq "$topic.$field (Kafka vs NDJSON)" "$want" "$got"
  done
  expect_eq "$topic.invalid" 0 "$(json_get "$ECOM_TEST_TMP/kafka.json" "d['$topic']['invalid']")"
done

m="$ECOM_TEST_TMP/manifest.json"
k="$ECOM_TEST_TMP/kafka.json"
expect_eq "distinct users = manifest" "$(json_get "$m" "d['counts']['users']")" \
  "$(json_get "$k" "d['users']['distinct_ids']")"
expect_eq "distinct categories = manifest" "$(json_get "$m" "d['counts']['categories']")" \
  "$(json_get "$k" "d['categories']['distinct_ids']")"
expect_eq "distinct products = manifest" "$(json_get "$m" "d['counts']['products']")" \
  "$(json_get "$k" "d['products']['distinct_ids']")"
expect_eq "distinct transactions = manifest" "$(json_get "$m" "d['counts']['transactions']")" \
  "$(json_get "$k" "d['transactions']['distinct_ids']")"
expect_eq "distinct sessions = manifest" "$(json_get "$m" "d['counts']['sessions']")" \
  "$(json_get "$k" "d['session_events']['distinct_ids']")"
expect_eq "event ids are unique" "$(json_get "$k" "d['session_events']['messages']")" \
  "$(json_get "$k" "d['session_events']['distinct_event_ids']")"

# the manifest's totals agree with themselves: daily orders add up to the transaction count
expect_eq "sum of daily orders = transactions" "$(json_get "$m" "d['counts']['transactions']")" \
  "$(json_get "$m" "sum(x['orders'] for x in d['daily_sales'])")"
rm -f "$ECOM_TEST_TMP/gen.ndjson"
