#!/usr/bin/env python3
"""Writes the synthetic feature repository and training files of the serving benchmark.

    make_repository.py --dir DIR [--users 100000] [--events-per-user 3] [--seed 7]
                       [--end 2026-11-27T12:00:00Z]

DIR/repository/      feature_store.yaml (project bench_serving), activity.csv (the batch source)
DIR/entities.csv     user_id, event_timestamp, label: one row per user, 5 minutes before --end
DIR/train/run.yaml   the run spec (alone in its folder: the folder is the run's code snapshot)

One entity `user` (join key user_id), one feature view `user_activity` with exactly 10
features (5 row features of the user's latest event, 5 windowed aggregations), one feature
service `bench_scoring` = user_activity.*. The run spec trains binary:logistic XGBoost with
exactly 100 rounds (no early stopping) of depth 6 on those 10 features.

Each user has a latent z ~ N(0, 1) that shifts its amounts, item counts, scores and device
and drives its label (P(label) = sigmoid(1.5 z - 0.5)), so the model learns something real
(validation AUC ~0.8) and its trees are full-depth. Event times are spread over the 6 days
before --end (default: now) minus 10 minutes, inside every TTL, so online reads right after
`kiln features materialize --end <end>` are PRESENT. Standard library only; fixed seed.
"""
import argparse
import datetime
import math
import os
import random

REPOSITORY_YAML = """\
# Written by bench/serving/make_repository.py (the serving benchmark's synthetic repository).
project: bench_serving
sources:
  - name: activity
    kind: csv
    path: activity.csv
    timestamp_field: event_time
    timezone: UTC
    columns: {user_id: int64, amount: float64, items: int64, score: float64, device: string}
entities:
  - name: user
    join_keys: [user_id]
feature_views:
  - name: user_activity
    entities: [user]
    source: activity
    ttl: 30d
    features:
      - name: last_amount
        expression: amount
      - name: last_items
        expression: items
      - name: last_score
        expression: score
      - name: amount_per_item
        expression: amount / (items + 1)
      - name: is_mobile
        expression: device == 'mobile'
      - name: purchases_7d
        aggregation: {function: count, window: 7d}
      - name: amount_mean_7d
        aggregation: {function: mean, column: amount, window: 7d}
      - name: amount_max_7d
        aggregation: {function: max, column: amount, window: 7d}
      - name: score_mean_30d
        aggregation: {function: mean, column: score, window: 30d}
      - name: amount_sum_2d
        aggregation: {function: sum, column: amount, window: 2d}
feature_services:
  - name: bench_scoring
    description: the 10 inputs of the serving benchmark's model
    features: [user_activity.*]
"""

RUN_YAML = """\
# Written by bench/serving/make_repository.py: 100 trees of depth 6 on the 10 features of
# bench_scoring (early stopping off, so exactly num_boost_round trees).
project: bench-serving
run_name: bench-model
data:
  feature_service: bench_scoring
  feature_project: bench_serving
  entities: {entities}
  timestamp_column: event_timestamp
  label: label
split: {{kind: random, validation_fraction: 0.2, seed: 7}}
trainer:
  xgboost:
    objective: binary:logistic
    num_boost_round: 100
    early_stopping_rounds: 0
    seed: 7
    max_depth: 6
    eta: 0.1
    tree_method: hist
resources: {{cpus: 2, memory: 4G, time_limit: 15m}}
debian_packages: [libxgboost-dev]
"""


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--events-per-user", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", help="ISO 8601 UTC (default: now)")
    args = parser.parse_args()

    end = (datetime.datetime.strptime(args.end, "%Y-%m-%dT%H:%M:%SZ") if args.end
           else datetime.datetime.utcnow().replace(microsecond=0))
    last = end - datetime.timedelta(minutes=10)
    span = 6 * 86400.0
    rng = random.Random(args.seed)
    repository = os.path.join(args.dir, "repository")
    train = os.path.join(args.dir, "train")
    os.makedirs(repository, exist_ok=True)
    os.makedirs(train, exist_ok=True)
    with open(os.path.join(repository, "feature_store.yaml"), "w") as f:
        f.write(REPOSITORY_YAML)

    events = []  # (time, line)
    entity_lines = []
    positives = 0
    for user in range(args.users):
        z = rng.gauss(0.0, 1.0)
        for _ in range(rng.randint(1, 2 * args.events_per_user - 1)):
            t = last - datetime.timedelta(seconds=rng.random() * span)
            amount = math.exp(rng.gauss(3.0 + 0.5 * z, 0.7))
            items = max(0, int(rng.gauss(2.0 + z, 1.5)))
            score = rng.gauss(z, 1.0)
            device = "mobile" if rng.random() < 1.0 / (1.0 + math.exp(-z)) else "desktop"
            events.append((t, f"{user},{iso(t)},{amount:.4f},{items},{score:.5f},{device}\n"))
        label = 1 if rng.random() < 1.0 / (1.0 + math.exp(-(1.5 * z - 0.5))) else 0
        positives += label
        entity_lines.append(f"{user},{iso(end - datetime.timedelta(minutes=5))},{label}\n")
    events.sort(key=lambda e: e[0])
    with open(os.path.join(repository, "activity.csv"), "w") as f:
        f.write("user_id,event_time,amount,items,score,device\n")
        f.writelines(line for _, line in events)
    entities = os.path.join(args.dir, "entities.csv")
    with open(entities, "w") as f:
        f.write("user_id,event_timestamp,label\n")
        f.writelines(entity_lines)
    with open(os.path.join(train, "run.yaml"), "w") as f:
        f.write(RUN_YAML.format(entities=os.path.abspath(entities)))
    print(f"users={args.users} events={len(events)} positives={positives} end={iso(end)}")


if __name__ == "__main__":
    main()
