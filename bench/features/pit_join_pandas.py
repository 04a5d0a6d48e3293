#!/usr/bin/python3
"""The pandas peer of kiln_bench_features pit-join and csv-ingest (bench/run-features).

  prepare     computes the feature views once from flights-3m.csv and writes them
              as CSV, read by both sides:
                origin_hourly.csv       per origin and hour: delay_mean, flights
                route_daily.csv         per (origin, destination) and day
                destination_hourly.csv  per destination and hour
              event_timestamp is the END of the hour/day (when its aggregate is
              complete), so an entity row at t sees only complete periods.
  join        pandas.merge_asof of the entity rows against one view (--set single)
              or all three (--set multi): direction backward, by the join keys,
              tolerance 7 days, allow_exact_matches True. Timed: the sorts
              merge_asof needs, the merges, and putting the values back in entity
              row order; not timed: reading the CSV files. Writes the values as
              float64 (NaN for a miss) in kiln_bench_features' layout.
  compare     row-by-row comparison of two such files.
  csv-ingest  pandas.read_csv of a file (parse_dates on the timestamp column).

Every command prints one JSON object. Uses Debian's python3-pandas.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

# Keep in step with AllViews() in bench/features/pit_join_bench.cc.
VIEWS = [
    ("origin_hourly", ["origin"]),
    ("route_daily", ["origin", "destination"]),
    ("destination_hourly", ["destination"]),
]
FEATURES = ["delay_mean", "flights"]
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def prepare(args):
    os.makedirs(args.out, exist_ok=True)
    paths = [os.path.join(args.out, name + ".csv") for name, _ in VIEWS]
    source_time = os.path.getmtime(args.flights)
    if all(os.path.exists(p) and os.path.getmtime(p) >= source_time for p in paths):
        return {"bench": "prepare", "cached": True, "views": paths}
    flights = pd.read_csv(args.flights, parse_dates=["departure"])
    hour = flights["departure"].dt.floor("H")
    day = flights["departure"].dt.floor("D")
    periods = {"origin_hourly": (hour, pd.Timedelta(hours=1)),
               "route_daily": (day, pd.Timedelta(days=1)),
               "destination_hourly": (hour, pd.Timedelta(hours=1))}
    rows = {}
    for (name, keys), path in zip(VIEWS, paths):
        start, length = periods[name]
        grouped = flights.assign(period=start).groupby(keys + ["period"], sort=True)["delay"]
        view = grouped.agg(delay_mean="mean", flights="count").reset_index()
        view["event_timestamp"] = view["period"] + length
        view = view[keys + ["event_timestamp"] + FEATURES]
        temporary = path + ".part"
        view.to_csv(temporary, index=False, date_format=DATE_FORMAT, float_format="%.17g")
        os.replace(temporary, path)
        rows[name] = len(view)
    return {"bench": "prepare", "cached": False, "views": paths, "rows": rows}


def read_views(views_dir, specs):
    frames = []
    for name, keys in specs:
        frame = pd.read_csv(os.path.join(views_dir, name + ".csv"), parse_dates=["event_timestamp"],
                            dtype={key: str for key in keys}, float_precision="round_trip")
        frames.append(frame)
    return frames


def join(args):
    specs = VIEWS[:1] if args.set == "single" else VIEWS
    columns = ["departure", "origin"] + (["destination"] if args.set == "multi" else [])
    entities = pd.read_csv(args.entities, usecols=columns, parse_dates=["departure"],
                           dtype={c: str for c in columns if c != "departure"})
    views = read_views(args.views, specs)
    n = len(entities)
    tolerance = pd.Timedelta(seconds=args.ttl_seconds)

    timings, sort_timings, values = [], [], None
    for _ in range(args.repeats):
        values = []
        started = time.perf_counter()
        left = entities.sort_values("departure", kind="stable")
        order = left.index.to_numpy()
        sorted_at = time.perf_counter()
        sort_seconds = sorted_at - started
        for (name, keys), view in zip(specs, views):
            sort_started = time.perf_counter()
            right = view.sort_values("event_timestamp", kind="stable")
            sort_seconds += time.perf_counter() - sort_started
            merged = pd.merge_asof(left[["departure"] + keys], right, left_on="departure",
                                   right_on="event_timestamp", by=keys, direction="backward",
                                   tolerance=tolerance, allow_exact_matches=True)
            for feature in FEATURES:
                out = np.empty(n, dtype=np.float64)
                out[order] = merged[feature].to_numpy(dtype=np.float64, na_value=np.nan)
                values.append(out)
        timings.append(time.perf_counter() - started)
        sort_timings.append(sort_seconds)
    if args.out:
        np.concatenate(values).astype("<f8").tofile(args.out)
    return {"bench": "pit-join-pandas", "label": args.label, "set": args.set, "entity_rows": n,
            "views": [{"view": name, "rows": len(view)} for (name, _), view in zip(specs, views)],
            "matched_rows_first_view": int(np.count_nonzero(~np.isnan(values[0]))),
            "repeats": args.repeats, "seconds": statistics.median(timings), "seconds_min": min(timings),
            "seconds_all": timings, "sort_seconds": statistics.median(sort_timings),
            "pandas": pd.__version__, "numpy": np.__version__, "out": args.out}


def compare(args):
    a = np.fromfile(args.pandas, dtype="<f8")
    b = np.fromfile(args.kiln, dtype="<f8")
    if a.size != b.size or a.size % args.rows != 0:
        return {"bench": "pit-join-compare", "label": args.label, "error":
                f"sizes differ or do not divide into {args.rows} rows: pandas {a.size} values, kiln {b.size}"}
    a = a.reshape(-1, args.rows)
    b = b.reshape(-1, args.rows)
    differs = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return {"bench": "pit-join-compare", "label": args.label, "rows": args.rows, "columns": int(a.shape[0]),
            "mismatched_rows": int(np.count_nonzero(differs.any(axis=0))),
            "mismatched_values_per_column": [int(x) for x in np.count_nonzero(differs, axis=1)],
            "misses_per_column": [int(x) for x in np.count_nonzero(np.isnan(a), axis=1)]}


def csv_ingest(args):
    timings, rows, columns = [], 0, 0
    for _ in range(args.repeats):
        started = time.perf_counter()
        frame = pd.read_csv(args.path, parse_dates=[args.timestamp] if args.timestamp else None)
        timings.append(time.perf_counter() - started)
        rows, columns = frame.shape
        del frame
    seconds = statistics.median(timings)
    size = os.path.getsize(args.path)
    return {"bench": "csv-ingest-pandas", "label": args.label, "path": args.path, "rows": rows,
            "columns": columns, "bytes": size, "repeats": args.repeats, "seconds": seconds,
            "seconds_all": timings, "rows_per_s": rows / seconds, "mb_per_s": size / 1e6 / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("--flights", default="data/flights-3m.csv")
    p.add_argument("--out", default="bench/out/features")
    p = commands.add_parser("join")
    p.add_argument("--entities", default="data/flights-3m.csv")
    p.add_argument("--views", default="bench/out/features")
    p.add_argument("--set", choices=["single", "multi"], default="single")
    p.add_argument("--ttl-seconds", type=int, default=7 * 86400)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="")
    p.add_argument("--label", default="")
    p = commands.add_parser("compare")
    p.add_argument("--pandas", required=True)
    p.add_argument("--kiln", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--label", default="")
    p = commands.add_parser("csv-ingest")
    p.add_argument("--path", default="data/flights-3m.csv")
    p.add_argument("--timestamp", default="departure")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--label", default="")
    args = parser.parse_args()
    handlers = {"prepare": prepare, "join": join, "compare": compare, "csv-ingest": csv_ingest}
    result = handlers[args.command](args)
    print(json.dumps(result))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
