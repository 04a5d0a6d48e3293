"""Prepares the flights example's inputs from data/flights-3m.csv (made by
scripts/fetch-flights):

  data/flights-events.csv   every flight with `landed`, the time its arrival
                            delay became known (the feature views' event time)
  data/flights-q1-entities.csv
                            a seeded sample of January–March flights: the
                            entity rows of the training set (origin,
                            destination, departure, delay)

`departure` is the actual local departure time and `delay` the arrival delay
in minutes (docs/data/flights.md). A flight's delay is only known once it has
landed, so delay aggregations must not see it before then: landed = departure
+ 20 minutes of taxiing + distance at 7.5 miles a minute. Without this the
training set would leak each flight's own label into its features.

Usage: /usr/bin/python3 examples/flights/prepare.py [--data DIR] [--sample N]
"""

import argparse
import os
import sys

import pandas as pd


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data"))
    parser.add_argument("--sample", type=int, default=200_000, help="entity rows for the training set")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    source = os.path.join(args.data, "flights-3m.csv")
    events_path = os.path.join(args.data, "flights-events.csv")
    entities_path = os.path.join(args.data, "flights-q1-entities.csv")
    if not os.path.exists(source):
        sys.exit(f"prepare: {source} not found; run scripts/fetch-flights first")
    if (os.path.exists(events_path) and os.path.exists(entities_path)
            and os.path.getmtime(events_path) >= os.path.getmtime(source)
            and os.path.getmtime(entities_path) >= os.path.getmtime(source)):
        return

    flights = pd.read_csv(source, parse_dates=["departure"])
    minutes = 20 + flights["distance"] / 7.5
    flights["landed"] = flights["departure"] + pd.to_timedelta(minutes.round(), unit="min")
    columns = ["departure", "landed", "delay", "distance", "origin", "destination"]
    temporary = events_path + ".part"
    flights[columns].to_csv(temporary, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    os.replace(temporary, events_path)

    first_quarter = flights[flights["departure"] < "2001-04-01"]
    sample = first_quarter.sample(n=min(args.sample, len(first_quarter)), random_state=args.seed)
    sample = sample.sort_values("departure", kind="stable")
    temporary = entities_path + ".part"
    sample[["origin", "destination", "departure", "delay"]].to_csv(
        temporary, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    os.replace(temporary, entities_path)


if __name__ == "__main__":
    main()
