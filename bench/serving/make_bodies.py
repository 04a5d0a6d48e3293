#!/usr/bin/env python3
"""After training: copies the run's model out of the data directory and writes the request bodies.

    make_bodies.py --data-dir DATA --run RUN_ID --dir DIR [--batch-rows 1000] [--batches 64] [--seed 7]

From the run's artifacts (found through kiln.db's artifact_entries, read from the
content-addressed objects/ folder; docs/formats/artifact-store.md):
  DIR/model/model.ubj, DIR/model/kiln-model.json   the registered model (what the Python peer loads)
  DIR/model/training-set.csv                       the run's training set (feature values per user)
Request bodies, one JSON body per line, for bench/serving/post.lua:
  predict-1.txt      Kiln /api/predict/{model}: {"entity": {"user_id": N}, "unit_id": "uN"}, one per user
  oip-1.txt          OIP v2 infer: one FP32 tensor "input-0" of shape [1, 10] in the model's feature order
  python-1.txt       the FastAPI peer's /predict: {"features": [10 numbers]} (same values and order)
  predict-B.txt, oip-B.txt, python-B.txt   batches of B rows (random users), --batches bodies each
  fixed-response.json  a response of Kiln's /api/predict shape, for the nginx peer to return
Prints a JSON summary (feature names, rows, sizes). Standard library only.
"""
import argparse
import csv
import json
import math
import os
import random
import shutil
import sqlite3


def artifact(db, data_dir, run_id, relative):
    row = db.execute("SELECT digest FROM artifact_entries WHERE is_dir = 0 AND path LIKE ?",
                     (f"%{run_id}/artifacts/{relative}",)).fetchone()
    if row is None:
        raise SystemExit(f"make_bodies.py: run {run_id} has no artifact {relative} in {data_dir}")
    return os.path.join(data_dir, "artifacts", "objects", row[0][:2], row[0][2:])


def number(text):
    if text in ("", "null", "NaN", "nan"):
        return None
    if text in ("true", "false"):
        return 1.0 if text == "true" else 0.0
    value = float(text)
    return None if math.isnan(value) else value


def fmt(value):
    # JSON has no NaN and OIP no null, so users with a missing feature (an empty 2-day window)
    # are left out of the OIP and Python bodies (`complete` in main).
    return repr(round(value, 6)) if value != int(value) else str(int(value))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    db = sqlite3.connect(os.path.join(args.data_dir, "kiln.db"))
    model_dir = os.path.join(args.dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    for name in ("model.ubj", "kiln-model.json"):
        shutil.copyfile(artifact(db, args.data_dir, args.run, f"model/{name}"), os.path.join(model_dir, name))
    training_set = db.execute("SELECT path FROM artifact_entries WHERE is_dir = 0 AND path LIKE ? AND path LIKE ?",
                              (f"%{args.run}/artifacts/%", "%.csv")).fetchall()
    training_set = [p for (p,) in training_set if "/training_set/" in p or "/data/" in p]
    if not training_set:
        raise SystemExit(f"make_bodies.py: run {args.run} stored no training-set CSV")
    relative = training_set[0].split("/artifacts/", 1)[1]
    shutil.copyfile(artifact(db, args.data_dir, args.run, relative), os.path.join(model_dir, "training-set.csv"))

    with open(os.path.join(model_dir, "kiln-model.json")) as f:
        signature = json.load(f)["signature"]
    names = [feature["name"] for feature in signature["features"]]
    # The training set's columns: join keys, timestamp, features (named as in the signature,
    # possibly qualified view.feature or view__feature), the label.
    with open(os.path.join(model_dir, "training-set.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)

        def column_of(name):
            for candidate in (name, name.split(".")[-1], name.replace(".", "__")):
                if candidate in header:
                    return header.index(candidate)
            raise SystemExit(f"make_bodies.py: training set has no column for feature '{name}' (columns: {header})")

        columns = [column_of(name) for name in names]
        user_column = header.index("user_id")
        users = {}
        for row in reader:
            values = [number(row[c]) for c in columns]
            users[int(row[user_column])] = values

    out = args.dir
    ids = sorted(users)
    complete = [u for u in ids if all(v is not None for v in users[u])]
    if not complete:
        raise SystemExit("make_bodies.py: no user has all 10 features present")

    def predict_row(user):
        return {"entity": {"user_id": user}, "unit_id": f"u{user}"}

    def values(user):
        return "[" + ",".join(fmt(v) for v in users[user]) + "]"

    with open(os.path.join(out, "predict-1.txt"), "w") as f:
        for user in ids:
            f.write(json.dumps(predict_row(user), separators=(",", ":")) + "\n")
    with open(os.path.join(out, "oip-1.txt"), "w") as f:
        for user in complete:
            f.write('{"inputs":[{"name":"input-0","shape":[1,%d],"datatype":"FP32","data":%s}]}\n'
                    % (len(names), values(user)))
    with open(os.path.join(out, "python-1.txt"), "w") as f:
        for user in complete:
            f.write('{"features":%s}\n' % values(user))

    rng = random.Random(args.seed)
    b = args.batch_rows
    with open(os.path.join(out, f"predict-{b}.txt"), "w") as p, \
            open(os.path.join(out, f"oip-{b}.txt"), "w") as o, \
            open(os.path.join(out, f"python-{b}.txt"), "w") as y:
        for _ in range(args.batches):
            batch = [rng.choice(ids) for _ in range(b)]
            p.write(json.dumps({"rows": [predict_row(u) for u in batch]}, separators=(",", ":")) + "\n")
            batch = [rng.choice(complete) for _ in range(b)]
            flat = ",".join(values(u)[1:-1] for u in batch)
            o.write('{"inputs":[{"name":"input-0","shape":[%d,%d],"datatype":"FP32","data":[%s]}]}\n'
                    % (b, len(names), flat))
            y.write('{"rows":[%s]}\n' % ",".join(values(u) for u in batch))

    # What nginx returns: the shape and size of one /api/predict answer of kiln serve.
    fixed = {"model": "bench-model", "version": 1, "alias": "champion", "id": "pred-e607d0d8c879431e2f3f70f3",
             "prediction": 0.15088116}
    with open(os.path.join(out, "fixed-response.json"), "w") as f:
        f.write(json.dumps(fixed, separators=(",", ":")))

    print(json.dumps({"features": names, "users": len(ids), "users_with_all_features": len(complete),
                      "training_set_artifact": relative, "batch_rows": b, "batches": args.batches}))


if __name__ == "__main__":
    main()
