#!/usr/bin/env python3
"""Small /proc and socket helpers of bench/run-serving (standard library only).

    proc.py port                 a free TCP port on 127.0.0.1
    proc.py cpu PID              CPU seconds (user + system) of PID and all its descendants
    proc.py memory PID           {"vm_rss_kb", "vm_hwm_kb", "threads"} of PID (/proc/PID/status)
    proc.py busy SECONDS [PID]   share of the machine's CPU time that was not idle over SECONDS,
                                 less what PID and its descendants used (our own server: the
                                 share is then what OTHER processes used; /proc/stat; the load
                                 average lags by a minute and counts our own load too)
    proc.py wait-http URL SECS   polls URL until it answers 200 (exit 0) or SECS pass (exit 1)
"""
import json
import os
import socket
import sys
import time
import urllib.request


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def cpu_seconds(pid):
    ticks = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "VmRSS":
                out["vm_rss_kb"] = int(value.split()[0])
            elif key == "VmHWM":
                out["vm_hwm_kb"] = int(value.split()[0])
            elif key == "Threads":
                out["threads"] = int(value)
    return out


def cpu_times():
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values), idle


def main():
    command = sys.argv[1]
    if command == "port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1])
    elif command == "cpu":
        print(f"{cpu_seconds(int(sys.argv[2])):.2f}")
    elif command == "memory":
        print(json.dumps(memory(int(sys.argv[2]))))
    elif command == "busy":
        pid = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
        own0 = cpu_seconds(pid) if pid else 0.0
        total0, idle0 = cpu_times()
        time.sleep(float(sys.argv[2]))
        total1, idle1 = cpu_times()
        own1 = cpu_seconds(pid) if pid else 0.0
        ticks = max(total1 - total0, 1)
        own = (own1 - own0) * os.sysconf("SC_CLK_TCK")
        print(f"{max(0.0, 1 - (idle1 - idle0 + own) / ticks):.2f}")
    elif command == "wait-http":
        deadline = time.time() + float(sys.argv[3])
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(sys.argv[2], timeout=2) as answer:
                    if answer.status == 200:
                        return 0
            except OSError:
                pass
            time.sleep(0.1)
        return 1
    else:
        sys.exit(f"proc.py: unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
