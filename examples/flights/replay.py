"""Replays one day of flights through `kiln serve`, then sends their labels.

For every flight departing on --day (from data/flights-events.csv, made by
prepare.py), in departure order and in batches, POST /api/predict/MODEL with
the route as the entity, the departure time as a request field and the
flight as the unit; "as_of" is the batch's last departure, so TTLs are
judged as they would have been that day. Afterwards every prediction gets
its label (arrived more than 15 minutes late) through POST /api/labels,
stamped with the landing time and keyed by the flight, so a re-run is a
no-op (labels are idempotent).

Usage: /usr/bin/python3 examples/flights/replay.py --serve URL --server URL [--day 2001-04-01]
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

import pandas as pd


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        sys.exit(f"replay: {url} answered {error.code}: {error.read().decode()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", required=True, help="kiln serve URL")
    parser.add_argument("--server", required=True, help="kiln server URL (labels)")
    parser.add_argument("--model", default="flight-delay")
    parser.add_argument("--day", default="2001-04-01")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data"))
    args = parser.parse_args()

    flights = pd.read_csv(os.path.join(args.data, "flights-events.csv"), parse_dates=["departure", "landed"])
    day = pd.Timestamp(args.day)
    flights = flights[(flights.departure >= day) & (flights.departure < day + pd.Timedelta(days=1))]
    flights = flights.sort_values(["departure", "origin", "destination"]).reset_index(drop=True)

    started = time.monotonic()
    ids = []
    late = 0
    for start in range(0, len(flights), args.batch):
        batch = flights.iloc[start:start + args.batch]
        rows = []
        for index, flight in batch.iterrows():
            rows.append({"entity": {"origin": flight.origin, "destination": flight.destination},
                         "request": {"departure": flight.departure.strftime("%Y-%m-%dT%H:%M:%SZ")},
                         "unit_id": f"flight-{args.day}-{index}"})
        as_of = batch.departure.iloc[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = post(f"{args.serve}/api/predict/{args.model}", {"rows": rows, "as_of": as_of})
        for prediction in answer["predictions"]:
            ids.append(prediction["id"])
            late += prediction["prediction"] > 0.5
    seconds = time.monotonic() - started
    print(f"replayed {len(flights):,} flights of {args.day} through {args.model} v{answer['version']} "
          f"in {seconds:.1f} s ({len(flights) / seconds:,.0f} predictions/s, batches of {args.batch}); "
          f"{late:,} predicted late (p > 0.5)")

    labels = []
    for prediction_id, (index, flight) in zip(ids, flights.iterrows()):
        labels.append({"id": f"label-{args.day}-{index}", "prediction_id": prediction_id,
                       "value": 1 if flight.delay > 15 else 0,
                       "timestamp": flight.landed.strftime("%Y-%m-%dT%H:%M:%SZ")})
    created = duplicates = 0
    for start in range(0, len(labels), 5000):
        answer = post(f"{args.server}/api/labels", {"labels": labels[start:start + 5000]})
        created += answer["created"]
        duplicates += answer["duplicates"]
    actual = int((flights.delay > 15).sum())
    print(f"labels arrived afterwards: {created:,} recorded, {duplicates:,} already there; "
          f"{actual:,} flights ({actual / len(flights):.1%}) were more than 15 minutes late")


if __name__ == "__main__":
    main()
