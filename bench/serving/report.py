#!/usr/bin/env python3
"""Turns bench/run-serving's JSON lines into the serving table (bench/README.md, "Serving benchmarks").

Writes every figure, the machine, the setup and the commands to --out (JSON) and prints a plain
table and the markdown rows for bench/RESULTS.md. Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess

TARGET_RPS = 50000        # single-row requests/s with 10 online features
TARGET_P99_MS = 5.0       # p99 at 10,000 requests/s
TARGET_ROWS = 1000000     # rows/s in batches of 1,000
TARGET_RSS_MB = 200       # RSS with 10 models loaded
BUSY_LIMIT = 0.25         # other processes' CPU share (before or during a load) from which a figure is flagged
ISSUE_ANCHORS = {"nginx": 139000, "python": 727}  # the issue's own measurements (requests/s)


def run(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def head_commit():
    """The checked-out commit, read from .git (no git process)."""
    git = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".git")
    try:
        with open(os.path.join(git, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        if os.path.exists(os.path.join(git, ref)):
            with open(os.path.join(git, ref)) as f:
                return f.read().strip()[:12]
        with open(os.path.join(git, "packed-refs")) as f:
            for line in f:
                if line.rstrip().endswith(" " + ref):
                    return line.split()[0][:12]
    except OSError:
        pass
    return "unknown"


def machine(kiln):
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = "unknown"
    info["free_g"] = run(["free", "-g"])
    info["git_commit"] = head_commit()
    info["kiln_version"] = run([kiln, "--version"])
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True) if os.path.exists("/usr/bin/wrk") else None
    info["wrk"] = (wrk.stdout + wrk.stderr).strip().splitlines()[0] if wrk and (wrk.stdout + wrk.stderr).strip() \
        else "absent"
    info["nginx"] = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr.strip() \
        if os.path.exists("/usr/sbin/nginx") else "absent"
    info["python_packages"] = run(["/usr/bin/python3", "-c",
                                   "import importlib.metadata as m\n"
                                   "for p in ('fastapi','uvicorn','pydantic','xgboost','numpy','uvloop','httptools'):\n"
                                   "  try: print(p, m.version(p))\n"
                                   "  except Exception: print(p, 'absent')"]).splitlines()
    return info


def find(results, kind):
    for r in results:
        if r.get("kind") == kind:
            return r
    return None


def figures(r):
    """Normalizes a wrk (post.lua / get_path.lua) or open-loop generator result."""
    if r is None or "error" in r and "rate" not in r:
        return None
    if "latency" in r:  # kiln_bench_features_http
        lat = r["latency"]
        requests = r["completed"]
        out = {"rate": r["rate"], "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "p999_ms": lat.get("p999_ms"),
               "max_ms": lat["max_ms"], "errors": r.get("non_2xx", 0) + (1 if "error" in r else 0),
               "late_share": r.get("late_sends", 0) / max(requests, 1), "requests": requests, "tool": "open-loop"}
    else:
        requests = r["requests"]
        errors = sum(r.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write", "errors_status",
                                           "errors_timeout"))
        out = {"rate": r["rate"], "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
               "p999_ms": r.get("p999_us", 0) / 1000, "max_ms": r["max_us"] / 1000, "errors": errors,
               "non_2xx": r.get("errors_status", 0), "requests": requests, "tool": "wrk",
               "late_share": r.get("late_sends", 0) / max(r.get("paced_sends", 0), 1) if r.get("paced_sends") else None}
    if r.get("server_cpu_s") is not None and requests:
        out["server_cpu_us_per_request"] = r["server_cpu_s"] / requests * 1e6
    out["loadavg_before"] = r.get("loadavg_before")
    out["cpu_busy_before"] = r.get("cpu_busy_before")
    out["cpu_others_during"] = r.get("cpu_others_during")
    out["log_dropped"] = r.get("prediction_log_dropped")
    if r.get("client_cpu_s_total") is not None and requests:
        out["client_cpu_us_per_request"] = r["client_cpu_s_total"] / requests * 1e6
    return out


def others(f):
    """The larger of the other processes' CPU share before and during the load (None: unknown)."""
    values = [v for v in (f.get("cpu_busy_before"), f.get("cpu_others_during")) if v is not None]
    return max(values) if values else None


def fmt_int(v):
    return f"{v:,.0f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def build_rows(results, batch_rows):
    rows = []
    fig = {k: figures(find(results, k)) for k in (
        "nginx-get", "nginx-post", "nginx-paced-open", "nginx-paced-wrk", "python-stock", "python", "python-batch",
        "kiln-predict", "kiln-oip", "kiln-predict-paced-open", "kiln-predict-paced-wrk", "kiln-oip-paced-wrk",
        "kiln-predict-batch", "kiln-oip-batch", "kiln-predict-nolog", "kiln-predict-batch-nolog")}
    python = fig["python"]["rate"] if fig["python"] else None
    nginx = fig["nginx-post"]["rate"] if fig["nginx-post"] else None
    nginx_get = fig["nginx-get"]["rate"] if fig["nginx-get"] else None

    def row(section, name, f, figure, vs_python="—", vs_nginx="—", target="—", met=None, kind=""):
        rows.append({"section": section, "benchmark": name, "kind": kind, "figure": figure,
                     "p50_ms": f["p50_ms"], "p99_ms": f["p99_ms"], "errors": f["errors"],
                     "cpu_us_per_request": f.get("server_cpu_us_per_request"), "vs_python": vs_python,
                     "vs_nginx": vs_nginx, "target": target, "met": met, "loadavg_before": f["loadavg_before"],
                     "cpu_busy_before": f["cpu_busy_before"], "cpu_others_during": f.get("cpu_others_during"),
                     "client_cpu_us_per_request": f.get("client_cpu_us_per_request"),
                     "prediction_log_dropped": f.get("log_dropped"),
                     "rows_sent": None if f.get("requests") is None else
                     f["requests"] * (batch_rows if "batch" in kind else 1)})

    health = find(results, "python-health")
    uvloop = bool(health and health.get("health", {}).get("uvloop"))
    stock = ("FastAPI, stock `uvicorn --workers 2` (uvloop: sets TCP_NODELAY itself)" if uvloop else
             "FastAPI, stock `uvicorn --workers 2` (asyncio loop: no TCP_NODELAY, ~40 ms per keep-alive request)")
    python_name = "FastAPI + python3-xgboost, 2 workers, TCP_NODELAY" + (", uvloop + httptools" if uvloop else
                                                                         ", asyncio + h11") + " (features in body)"
    s = "single row, maximum rate"
    for kind, name in (("nginx-get", "nginx, fixed body, GET without a script (HTTP ceiling)"),
                       ("nginx-post", "nginx, fixed body, POST of the /api/predict bodies"),
                       ("python-stock", stock),
                       ("python", python_name)):
        f = fig[kind]
        if f:
            anchor = ISSUE_ANCHORS["nginx"] if kind == "nginx-get" else ISSUE_ANCHORS["python"] \
                if kind.startswith("python") else None
            row(s, name, f, f"{fmt_int(f['rate'])} req/s", kind=kind,
                target=f"(issue measured {fmt_int(anchor)})" if anchor else "—")
    for kind, name in (("kiln-predict", "kiln /api/predict, 10 online features per request"),
                       ("kiln-oip", "kiln OIP v2 infer, 10 features in the body"),
                       ("kiln-predict-nolog", "kiln /api/predict, --prediction-log off")):
        f = fig[kind]
        if f:
            row(s, name, f, f"{fmt_int(f['rate'])} req/s", ratio(f["rate"], python),
                f"{ratio(f['rate'], nginx)} (GET: {ratio(f['rate'], nginx_get)})",
                f"≥ {fmt_int(TARGET_RPS)} req/s", f["rate"] >= TARGET_RPS, kind=kind)

    s = f"fixed rate {fmt_int(10000)} req/s"
    for kind, name in (("nginx-paced-open", "nginx, open-loop generator"),
                       ("nginx-paced-wrk", "nginx, wrk paced by post.lua delay()"),
                       ("kiln-predict-paced-open", "kiln /api/predict, open-loop generator (latency from due time)"),
                       ("kiln-predict-paced-wrk", "kiln /api/predict, wrk paced by delay() (latency from send)"),
                       ("kiln-oip-paced-wrk", "kiln OIP infer, wrk paced by delay() (latency from send)")):
        f = fig[kind]
        if not f:
            continue
        late = f"; {f['late_share'] * 100:.1f} % sent late" if f.get("late_share") is not None else ""
        figure = (f"achieved {fmt_int(f['rate'])} req/s; p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, "
                  f"p99.9 {f['p999_ms']:.2f} ms, max {f['max_ms']:.1f} ms{late}")
        if kind.startswith("kiln"):
            met = f["p99_ms"] < TARGET_P99_MS and f["rate"] >= 0.97 * 10000
            row(s, name, f, figure, target=f"p99 < {TARGET_P99_MS:g} ms at 10,000 req/s", met=met, kind=kind)
        else:
            row(s, name, f, figure, kind=kind)

    s = f"batches of {fmt_int(batch_rows)} rows"
    python_rows = fig["python-batch"]["rate"] * batch_rows if fig["python-batch"] else None
    for kind, name in (("python-batch", "FastAPI + python3-xgboost, {\"rows\": [...]}"),
                       ("kiln-predict-batch", "kiln /api/predict {\"rows\": [...]}, online features"),
                       ("kiln-oip-batch", "kiln OIP infer, one [1000, 10] FP32 tensor"),
                       ("kiln-predict-batch-nolog", "kiln /api/predict batch, --prediction-log off")):
        f = fig[kind]
        if not f:
            continue
        rows_s = f["rate"] * batch_rows
        figure = f"{fmt_int(rows_s)} rows/s ({f['rate']:,.1f} req/s)"
        if kind.startswith("kiln"):
            row(s, name, f, figure, ratio(rows_s, python_rows), "—", f"≥ {fmt_int(TARGET_ROWS)} rows/s",
                rows_s >= TARGET_ROWS, kind=kind)
        else:
            row(s, name, f, figure, kind=kind)

    for kind, name in (("kiln-memory-ready", "kiln serve, 1 model, ready"),
                       ("kiln-memory-after", "kiln serve, 1 model, after the loads"),
                       ("kiln-10-memory-ready", "kiln serve, 10 models, ready"),
                       ("kiln-10-memory-after", "kiln serve, 10 models, after traffic to each")):
        r = find(results, kind)
        if not r or "vm_rss_kb" not in r.get("memory", {}):
            continue
        m = r["memory"]
        rss, hwm = m["vm_rss_kb"] / 1024, m.get("vm_hwm_kb", 0) / 1024
        f = {"p50_ms": None, "p99_ms": None, "errors": 0, "loadavg_before": None, "cpu_busy_before": None}
        # (memory rows carry no load figures)
        target, met = "—", None
        if kind == "kiln-10-memory-after":
            target, met = f"< {TARGET_RSS_MB} MB (judged on the peak, VmHWM)", hwm < TARGET_RSS_MB
        row("memory (RSS)", name, f, f"VmRSS {rss:.1f} MB, peak VmHWM {hwm:.1f} MB, {m.get('threads', '?')} threads",
            target=target, met=met, kind=kind)
    return rows


def ms(v):
    return "—" if v is None else f"{v:.2f}"


def markdown(rows):
    lines = ["| section | benchmark | figure | p50 ms | p99 ms | server CPU µs/req | errors | kiln/Python | "
             "kiln/nginx | target | met | others' CPU |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        cpu = "—" if r["cpu_us_per_request"] is None else f"{r['cpu_us_per_request']:.1f}"
        share = others(r)
        share = "—" if share is None else f"{share * 100:.0f} %"
        lines.append(f"| {r['section']} | {r['benchmark']} | {r['figure']} | {ms(r['p50_ms'])} | {ms(r['p99_ms'])} | "
                     f"{cpu} | {r['errors']} | {r['vs_python']} | {r['vs_nginx']} | {r['target']} | {met} | "
                     f"{share} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    for name in ("results", "failures", "setup", "out", "kiln"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--scale", default="full")
    parser.add_argument("--command", default="bench/run-serving")
    parser.add_argument("--build-type", default="unknown")
    for name in ("seconds", "threads", "connections", "batch-connections", "rate"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--batch-rows", type=int, default=1000)
    args = parser.parse_args()
    with open(args.results) as f:
        results = [json.loads(line) for line in f if line.strip()]
    with open(args.failures) as f:
        failures = [line.rstrip("\n") for line in f if line.strip()]
    with open(args.setup) as f:
        setup = json.load(f)
    rows = build_rows(results, args.batch_rows)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "scale": args.scale, "command": args.command, "build_type": args.build_type,
              "load": {"seconds": args.seconds, "wrk_threads": args.threads, "connections": args.connections,
                       "batch_connections": args.batch_connections, "paced_rate": args.rate,
                       "batch_rows": args.batch_rows},
              "machine": machine(args.kiln), "setup": setup, "rows": rows, "results": results, "failures": failures}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)

    print()
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            print(f"== {section}")
        met = {True: "MET", False: "MISSED", None: ""}[r["met"]]
        extra = []
        if r["p99_ms"] is not None and "p99" not in r["figure"]:
            extra.append(f"p50 {ms(r['p50_ms'])} ms, p99 {ms(r['p99_ms'])} ms")
        if r["cpu_us_per_request"] is not None:
            extra.append(f"server CPU {r['cpu_us_per_request']:.1f} µs/req")
        if r["errors"]:
            extra.append(f"ERRORS {r['errors']}")
        if r.get("prediction_log_dropped") is not None:
            extra.append(f"prediction log dropped {r['prediction_log_dropped']:,} of ~{r['rows_sent']:,} rows")
        if r["client_cpu_us_per_request"] is not None:
            extra.append(f"load generator {r['client_cpu_us_per_request']:.1f} µs/req")
        if r["loadavg_before"] is not None:
            during = r["cpu_others_during"]
            extra.append(f"load average {r['loadavg_before']}; other processes {r['cpu_busy_before'] * 100:.0f} % "
                         f"of the CPUs before, " + ("?" if during is None else f"{during * 100:.0f} %") + " during")
        print(f"  {r['benchmark']}\n      {r['figure']}" + (f"  ({'; '.join(extra)})" if extra else ""))
        if r["vs_python"] != "—" or r["vs_nginx"] != "—":
            print(f"      kiln/Python {r['vs_python']}, kiln/nginx {r['vs_nginx']}")
        if r["target"] != "—":
            print(f"      target {r['target']} {met}")
        if (others(r) or 0) >= BUSY_LIMIT:
            print(f"      WARNING: other processes used {others(r) * 100:.0f} % of the CPUs before or during the "
                  "load: not a clean figure")
    busy = [r["benchmark"] for r in rows if (others(r) or 0) >= BUSY_LIMIT]
    if busy:
        print(f"\nWARNING: {len(busy)} figures were taken while other processes used ≥ {BUSY_LIMIT * 100:.0f} % of "
              "the CPUs (BENCH_WAIT_IDLE=600 waits for idle CPUs before each)")
    for kind in ("kiln-metrics", "kiln-nolog-metrics", "kiln-10-metrics"):
        m = find(results, kind)
        if m:
            drops = [l for l in m["lines"] if "drop" in l or "error" in l]
            print(f"\n/metrics of {kind[:-8]} after its loads ({len(drops)} drop/error lines of {m['all_lines']}):")
            for line in drops[:20]:
                print("  " + line)
    print("\nMarkdown rows for bench/RESULTS.md:\n")
    print(markdown(rows))
    print("\nCommands:")
    seen = set()
    for r in results:
        if r.get("command") and r["command"] not in seen:
            seen.add(r["command"])
            print(f"  [{r['kind']}] {r['command']}")
    if failures:
        print("\nFAILURES:")
        for line in failures:
            print("  " + line)


if __name__ == "__main__":
    main()
