#!/usr/bin/python3
"""Turns bench/run-features' JSON lines into the figure / peer / ratio table.

Writes every figure, the machine and the commands to --out (JSON) and prints
a plain table and the markdown rows for bench/RESULTS.md. Standard library only.
"""
import argparse
import datetime
import json
import os
import sys

sys.dont_write_bytecode = True  # no bench/__pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from report import machine  # noqa: E402  (bench/report.py, the tracking benchmarks' report)

# Published, not re-run (issue 3): Feast feature servers, 50 features per request.
ANCHORS = {
    "feast_java_p99_ms": 0.8,        # Java server, p99 at 10 requests/s
    "feast_go_p99_ms": 1.78,         # Go server, p99 at 10 requests/s
    "feast_python_rps_per_pod": 718,  # tuned Python server, per 4-core pod
}


def find(results, kind, **match):
    for r in results:
        if r.get("kind") == kind and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def num(value, digits=0):
    return f"{value:,.{digits}f}"


def fmt_ratio(value):
    if value >= 10:
        return f"{value:,.0f}×"
    return f"{value:.1f}×" if value >= 1 else f"{value:.2g}×"


def seconds(value):
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def cpu_per_request(wrk):
    """The server's CPU time per request during a wrk load, when recorded."""
    if not wrk.get("server_cpu_s") or not wrk.get("requests"):
        return ""
    return f"; server CPU {wrk['server_cpu_s'] / wrk['requests'] * 1e6:.0f} µs/request"


def build_rows(results):
    rows = []

    def row(name, kiln, peer="—", vs_peer="—", anchor="—", vs_anchor="—", target="—", met=None):
        rows.append({"benchmark": name, "kiln": kiln, "peer": peer, "vs_peer": vs_peer, "anchor": anchor,
                     "vs_anchor": vs_anchor, "target": target, "met": met})

    # 1. Point-in-time join.
    for join_set, label in (("single", "1 view (per-origin hourly)"),
                            ("multi", "3 views (per-origin hourly, per-route daily, per-destination hourly)")):
        kiln = find(results, "pit-kiln", set=join_set)
        pandas = find(results, "pit-pandas", set=join_set)
        compare = find(results, "pit-compare", label=join_set)
        if not kiln:
            continue
        view_rows = " + ".join(num(v["rows"]) for v in kiln["views"])
        mismatches = compare.get("mismatched_rows") if compare else None
        ratio = pandas["seconds"] / kiln["seconds"] if pandas else None
        checked = "not compared" if mismatches is None else f"{mismatches:,} mismatched rows"
        row(f"Point-in-time join, {label}: {num(kiln['entity_rows'])} entity rows × {view_rows} feature rows, "
            f"TTL 7 d (median of {kiln['repeats']})",
            f"{seconds(kiln['seconds'])} ({num(kiln['entity_rows'] / kiln['seconds'] / 1e6, 1)} M rows/s), "
            f"{kiln['threads']} threads; {checked}",
            peer=f"pandas merge_asof {seconds(pandas['seconds'])} incl. sorts ({seconds(pandas['sort_seconds'])})"
            if pandas else "—",
            vs_peer=f"{ratio:.1f}×" if ratio else "—",
            target="≥ 3× pandas, 0 mismatches",
            met=(ratio is not None and ratio >= 3 and mismatches == 0))

    kiln = find(results, "csv-kiln")
    pandas = find(results, "csv-pandas")
    if kiln:
        row(f"CSV ingest, {os.path.basename(kiln['path'])} ({num(kiln['rows'])} rows, "
            f"{kiln['bytes'] / 1e6:.0f} MB, timestamps parsed)",
            f"{num(kiln['rows_per_s'] / 1e6, 2)} M rows/s, {num(kiln['mb_per_s'])} MB/s ({seconds(kiln['seconds'])})",
            peer=f"pandas read_csv {num(pandas['rows_per_s'] / 1e6, 2)} M rows/s, {num(pandas['mb_per_s'])} MB/s "
            f"({seconds(pandas['seconds'])})" if pandas else "—",
            vs_peer=f"{pandas['seconds'] / kiln['seconds']:.1f}×" if pandas else "—")

    # 2. In-process online lookups.
    online = find(results, "online")
    if online:
        python_rps = ANCHORS["feast_python_rps_per_pod"]
        into = {r["threads"]: r for r in online["cached_read_into"]}
        raw = {r["threads"]: r for r in online["rocksdb_uncached_read"]}
        for r in online["get_online_features"]:
            base = into.get(r["threads"])
            row(f"Online lookup in-process: GetOnlineFeatures, 1 entity × {online['features']} features "
                f"(service), RocksDB + cache, {online['entities']:,} entities, {r['threads']} thread(s)",
                f"{num(r['lookups_per_s'])} lookups/s (p50 {r['p50_us']:.2f} µs, p99 {r['p99_us']:.2f} µs)",
                peer=f"cached ReadInto alone {num(base['lookups_per_s'])}/s" if base else "—",
                vs_peer=f"{r['lookups_per_s'] / base['lookups_per_s']:.2f}×" if base else "—",
                anchor=f"Feast Python server {python_rps} req/s per 4-core pod (HTTP)",
                vs_anchor=f"{r['lookups_per_s'] / python_rps:,.0f}× (for scale)",
                target="≥ 1,000,000 lookups/s", met=r["lookups_per_s"] >= 1e6)
        for threads, r in sorted(into.items()):
            base = raw.get(threads)
            row(f"Online read one layer down: OnlineStore::ReadInto through the cache, 1 entity × "
                f"{online['features']} features, {threads} thread(s)",
                f"{num(r['lookups_per_s'])} reads/s (p50 {r['p50_us']:.2f} µs, p99 {r['p99_us']:.2f} µs)",
                peer=f"RocksDB Read without the cache {num(base['lookups_per_s'])}/s (p99 {base['p99_us']:.1f} µs)"
                if base else "—",
                vs_peer=f"{r['lookups_per_s'] / base['lookups_per_s']:.1f}×" if base else "—")

    # 3. Online over HTTP.
    paced = find(results, "http-paced", label="online")
    floor = find(results, "http-paced", label="version")
    if paced:
        lat = paced["latency"]
        java, go = ANCHORS["feast_java_p99_ms"], ANCHORS["feast_go_p99_ms"]
        row(f"Online over HTTP: POST /api/features/online, 1 entity × 50 features, open loop at "
            f"{num(paced['target_rate'])} req/s for {paced['seconds']:.0f} s ({paced['connections']} connections)",
            f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms, p99.9 {lat['p999_ms']:.2f} ms "
            f"({num(paced['rate'])} req/s done, {paced['non_2xx']} non-2xx)",
            peer=f"GET /version at the same rate: p50 {floor['latency']['p50_ms']:.3f} ms, "
            f"p99 {floor['latency']['p99_ms']:.3f} ms" if floor else "—",
            vs_peer=f"p99 {fmt_ratio(lat['p99_ms'] / floor['latency']['p99_ms'])} the floor" if floor else "—",
            anchor=f"Feast p99 at 10 req/s: Java {java} ms, Go {go} ms",
            vs_anchor=f"{fmt_ratio(java / lat['p99_ms'])} Java, {fmt_ratio(go / lat['p99_ms'])} Go",
            target="p99 < 1 ms", met=lat["p99_ms"] < 1.0)
    for r in results:
        if r.get("kind") == "http-paced" and r.get("label", "").startswith("online-"):
            lat = r["latency"]
            row(f"Online over HTTP, same request, open loop at {num(r['target_rate'])} req/s for "
                f"{r['seconds']:.0f} s (context)",
                f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms, p99.9 {lat['p999_ms']:.2f} ms",
                target="p99 < 1 ms (at 5,000 req/s)")
    wrk = find(results, "http-wrk")
    wrk_floor = find(results, "http-wrk-version")
    if wrk:
        python_rps = ANCHORS["feast_python_rps_per_pod"]
        row("Online over HTTP: maximum rate, wrk -t1 -c16 on the same 2 cores",
            f"{num(wrk['rate'])} req/s (p50 {wrk['p50_us'] / 1000:.2f} ms, p99 {wrk['p99_us'] / 1000:.2f} ms; "
            f"{wrk['errors_status']} non-2xx){cpu_per_request(wrk)}",
            peer=f"GET /version {num(wrk_floor['rate'])} req/s{cpu_per_request(wrk_floor)}" if wrk_floor else "—",
            vs_peer=f"{wrk['rate'] / wrk_floor['rate']:.2f}×" if wrk_floor else "—",
            anchor=f"Feast Python {python_rps} req/s per 4-core pod",
            vs_anchor=f"{wrk['rate'] / python_rps:.0f}× (2 cores, client included)")
    closed = find(results, "http-closed")
    if closed:
        row(f"Online over HTTP: maximum rate, own closed-loop generator, {closed['connections']} connections",
            f"{num(closed['rate'])} req/s (p50 {closed['latency']['p50_ms']:.2f} ms, "
            f"p99 {closed['latency']['p99_ms']:.2f} ms)")

    # 4. Materialization.
    for target in ("rocksdb", "redis"):
        for r in results:
            if r.get("kind") != f"materialize-{target}":
                continue
            views = ", ".join(v["view"] for v in r["views"])
            if r["repository"] == "synthetic":
                name = (f"Materialize into {target}: synthetic source, {num(r['rows_read'])} rows → "
                        f"{num(r['entities_written'])} entities × {r['features']} features")
            else:
                name = (f"Materialize into {target}: flights {views} ({num(r['rows_read'])} source rows read, "
                        f"windowed aggregations)")
            base = r.get("raw_write")
            row(name,
                f"{num(r['rows_per_s'])} rows/s, {num(r['entities_per_s'])} entities/s ({seconds(r['seconds'])})",
                peer=f"the store's raw Write of the same records {num(base['entities_per_s'])} entities/s"
                if base else "—",
                vs_peer=f"{r['entities_per_s'] / base['entities_per_s']:.2f}×" if base else "—")
    return rows


def markdown(rows):
    lines = ["| benchmark | Kiln | peer / baseline (same run) | Kiln vs peer | anchor (published) | vs anchor "
             "| target | met |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        lines.append(f"| {r['benchmark']} | {r['kiln']} | {r['peer']} | {r['vs_peer']} | {r['anchor']} | "
                     f"{r['vs_anchor']} | {r['target']} | {met} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--failures", required=True)
    parser.add_argument("--scale", default="full")
    parser.add_argument("--command", default="bench/run-features")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.results) as f:
        results = [json.loads(line) for line in f if line.strip()]
    with open(args.failures) as f:
        failures = [line.rstrip("\n") for line in f if line.strip()]
    rows = build_rows(results)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "scale": args.scale, "command": args.command, "machine": machine(), "anchors": ANCHORS,
              "rows": rows, "results": results, "failures": failures}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)

    print()
    for r in rows:
        met = {True: "MET", False: "MISSED", None: ""}[r["met"]]
        print(f"{r['benchmark']}\n    Kiln: {r['kiln']}\n    peer/baseline: {r['peer']}  ->  {r['vs_peer']}"
              f"\n    anchor: {r['anchor']}  ->  {r['vs_anchor']}   target: {r['target']} {met}")
    print("\nMarkdown rows for bench/RESULTS.md:\n")
    print(markdown(rows))
    print("\nCommands (load average before each):")
    for r in results:
        print(f"  [{r.get('loadavg_before', '?')}] {r['command']}")
    if failures:
        print("\nFAILURES:")
        for line in failures:
            print("  " + line)


if __name__ == "__main__":
    main()
