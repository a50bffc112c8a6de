#!/usr/bin/env python3
"""Turns the raw reports of bench/run.sh into BENCHMARKS.md tables, a JSON
summary and gnuplot data.

  report.py rate RAW TRIALS FRACTION   calls/s at FRACTION of the gateway's median maximum
  report.py tables RAW TRIALS          Markdown
  report.py json RAW TRIALS            JSON summary
  report.py plot-data RAW TRIALS DIR   latency spectra for bench/plot/latency.gp
"""
import json
import os
import re
import statistics
import sys


# The servers bench/run.sh loads: the bare gRPC baseline, the design's floor
# (bench/floor: a durable record, then an in-process provider RPC) and the
# gateway.
SERVERS = ("baseline", "floor", "gateway")
# The same gateway with sharedState.redis on the bench's own redis-server
# (main round, maximum and half load only).
REDIS = "gateway-redis"


def read_json(raw, name):
    path = os.path.join(raw, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cpu_per_call(raw, name, report):
    path = os.path.join(raw, name + ".cpu")
    if report is None or not os.path.exists(path) or report["count"] == 0:
        return None
    ticks, hz = open(path).read().split()
    return int(ticks) / int(hz) * 1e6 / report["count"]


def machine_busy(raw, name):
    """The share of the machine's CPU time (all cores) that was busy during the run."""
    path = os.path.join(raw, name + ".machine")
    if not os.path.exists(path):
        return None
    busy0, total0, busy1, total1 = (int(v) for v in open(path).read().split())
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else None


def generator_cpu_per_call(raw, name, count):
    """The load generator's own CPU time (user + system) per call, from the
    "real user sys" seconds bench/run.sh recorded."""
    path = os.path.join(raw, name + ".gen-cpu")
    if not os.path.exists(path) or not count:
        return None
    lines = [l.split() for l in open(path) if len(l.split()) == 3]
    if not lines:
        return None
    _, user, system = (float(v) for v in lines[-1])
    return (user + system) * 1e6 / count


def read_run(raw, name):
    """A load run's report, with the server's and the load generator's CPU
    per call and how busy the machine was, when they were recorded."""
    r = read_json(raw, name)
    if r is not None:
        r["server_cpu_us_per_call"] = cpu_per_call(raw, name, r)
        r["generator_cpu_us_per_call"] = generator_cpu_per_call(raw, name, r["count"])
        r["machine_busy"] = machine_busy(raw, name)
    return r


def read_ghz(raw, name):
    """One ghz run (its JSON report: durations in ns), in the terms of
    read_run: calls/s, percentiles in ms, failures (calls not OK), CPU."""
    r = read_json(raw, name)
    if r is None:
        return None
    lat = {int(d["percentage"]): d["latency"] for d in r.get("latencyDistribution") or []}
    ok = (r.get("statusCodeDistribution") or {}).get("OK", 0)
    out = {"rps": r["rps"], "count": r["count"], "ok": ok, "failures": r["count"] - ok,
           "errors": r.get("errorDistribution") or {},
           "p50_ms": ms(lat[50]) if 50 in lat else None, "p90_ms": ms(lat[90]) if 90 in lat else None,
           "p99_ms": ms(lat[99]) if 99 in lat else None, "average_ms": ms(r["average"]),
           "slowest_ms": ms(r["slowest"])}
    out["server_cpu_us_per_call"] = cpu_per_call(raw, name, r)
    out["generator_cpu_us_per_call"] = generator_cpu_per_call(raw, name, r["count"])
    out["machine_busy"] = machine_busy(raw, name)
    return out


def ghz_summary(raw, n, t):
    """ghz's trials against the baseline and the gateway, beside idgate-load's
    (same config, connections, concurrency and duration, same rounds)."""
    out = {}
    for name in ("baseline", "gateway"):
        ts = [r for r in (read_ghz(raw, f"ghz-max-{name}-{i}") for i in range(1, n + 1)) if r]
        if ts:
            out[name] = {"median": median_trial(ts), "rps_all": [r["rps"] for r in ts],
                         "generator_cpu_all": [r["generator_cpu_us_per_call"] for r in ts]}
    if "baseline" not in out or "gateway" not in out:
        return None
    out["ratio"] = out["gateway"]["median"]["rps"] / out["baseline"]["median"]["rps"]
    path = os.path.join(raw, "ghz-version.txt")
    out["version"] = open(path).read().strip() if os.path.exists(path) else ""
    if t:
        out["idgate_load_generator_cpu_all"] = {
            name: [r["generator_cpu_us_per_call"] for r in trials(raw, f"max-{name}", n)]
            for name in ("baseline", "gateway")}
    return out


def cpu(r, key="server_cpu_us_per_call"):
    c = r.get(key)
    return "–" if c is None else f"{c:.1f}"


def busy(r):
    b = r.get("machine_busy") if r else None
    return "–" if b is None else f"{100 * b:.0f} %"


def ms(ns):
    return ns / 1e6


def trials(raw, prefix, n):
    """The runs PREFIX-1 .. PREFIX-n that exist."""
    runs = (read_run(raw, f"{prefix}-{t}") for t in range(1, n + 1))
    return [r for r in runs if r is not None]


def median_trial(ts, key=lambda r: r["rps"]):
    """The trial with the median `key`, throughput by default (the lower middle one)."""
    ordered = sorted(ts, key=key)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def throughput(raw, n, tag=""):
    """Each server's maximum-load trials (the floor runs in the main round
    only): the median trial, all trials' calls/s and CPU, and the ratio of
    the median calls/s to the baseline's."""
    out = {}
    for name in SERVERS + (REDIS,):
        ts = trials(raw, f"max-{name}{tag}", n)
        if ts:
            out[name] = {"median": median_trial(ts), "rps_all": [r["rps"] for r in ts],
                         "cpu_all": [r["server_cpu_us_per_call"] for r in ts]}
    if "baseline" not in out or "gateway" not in out:
        return None
    for x in out.values():
        x["ratio"] = x["median"]["rps"] / out["baseline"]["median"]["rps"]
    return out


def half_load(raw, server, n):
    """The paced trials at half load; their median p50 and p99 are reported
    (each a median over trials, so one host stall does not decide them)."""
    ts = trials(raw, f"half-{server}", n)
    if not ts:
        return None
    return {"trials": ts,
            "p50_ms": statistics.median(pct(r, "p50") for r in ts),
            "p99_ms": statistics.median(pct(r, "p99") for r in ts),
            "median_p50_trial": median_trial(ts, key=lambda r: pct(r, "p50"))}


def sweep(raw, n, half):
    """Latency against load: one paced run of each server at each fraction
    of the gateway's maximum in sweep.txt, and the half-load trials (their
    median p50 and p99, and the trial with the median p50 for the rest)."""
    path = os.path.join(raw, "sweep.txt")
    fractions = open(path).read().split() if os.path.exists(path) else []
    rows = []
    for f in fractions:  # as run.sh named the runs
        runs = {name: read_run(raw, f"sweep-{name}-{f}") for name in SERVERS}
        if runs["gateway"]:
            rows.append({"fraction": float(f), "runs": runs,
                         "p50_ms": {name: r and pct(r, "p50") for name, r in runs.items()},
                         "p99_ms": {name: r and pct(r, "p99") for name, r in runs.items()}})
    if half["gateway"]:
        hs = {name: half[name] or {} for name in SERVERS}
        rows.append({"fraction": 0.5, "runs": {name: h.get("median_p50_trial") for name, h in hs.items()},
                     "p50_ms": {name: h.get("p50_ms") for name, h in hs.items()},
                     "p99_ms": {name: h.get("p99_ms") for name, h in hs.items()}})
    return sorted(rows, key=lambda row: row["fraction"])


def failures(r):
    return r["failures"] + r.get("unfinished", 0)


def parse_h2load(raw, name):
    path = os.path.join(raw, f"h2load-{name}.txt")
    if not os.path.exists(path):
        return None
    text = open(path).read()
    out = {}
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    if m:
        out["rps"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    if m:
        out.update(total=int(m.group(1)), done=int(m.group(3)), succeeded=int(m.group(4)),
                   failed=int(m.group(5)), errored=int(m.group(6)), timeout=int(m.group(7)))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out["2xx"] = int(m.group(1))
        out["non2xx"] = int(m.group(2)) + int(m.group(3)) + int(m.group(4))
    m = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", text)
    if m:
        unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
        out["min_ms"] = float(m.group(1)) * unit[m.group(2)]
        out["max_ms"] = float(m.group(3)) * unit[m.group(4)]
        out["mean_ms"] = float(m.group(5)) * unit[m.group(6)]
    return out or None


def metric_sum(path, name, label_filter=""):
    if not os.path.exists(path):
        return None
    total = 0.0
    for line in open(path):
        if line.startswith(name + "{") and label_filter in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def gateway_h2load_metrics(raw):
    before = os.path.join(raw, "h2load-gateway-metrics-before.txt")
    after = os.path.join(raw, "h2load-gateway-metrics-after.txt")
    out = {}
    for key, name, flt in [("ok", "grpc_server_handled_total", 'grpc_code="OK"'),
                           ("handled", "grpc_server_handled_total", ""),
                           ("provider_calls", "idgate_provider_requests_total", "")]:
        a, b = metric_sum(before, name, flt), metric_sum(after, name, flt)
        if a is not None and b is not None:
            out[key] = int(b - a)
    return out


def process(raw, tag):
    out = {}
    for part in ("idle", "status"):
        path = os.path.join(raw, f"gateway-1s{tag}.{part}")
        if os.path.exists(path):
            for line in open(path):
                k, v = line.split()
                out[f"{part}_{k.rstrip(':')}"] = int(v)
    path = os.path.join(raw, f"gateway-1s{tag}.samples")
    threads, rss = [], []
    if os.path.exists(path):
        for line in open(path):
            f = line.split()
            d = dict(zip(f[0::2], f[1::2]))
            if "Threads:" in d:
                threads.append(int(d["Threads:"]))
            if "VmRSS:" in d:
                rss.append(int(d["VmRSS:"]))
    out["peak_threads"] = max(threads) if threads else out.get("status_Threads")
    out["sampled_peak_rss_kb"] = max(rss) if rss else None
    return out


def summary(raw, n):
    s = {"settings": open(os.path.join(raw, "settings.txt")).read().strip()
         if os.path.exists(os.path.join(raw, "settings.txt")) else ""}
    s["machine"] = open(os.path.join(raw, "machine.txt")).read().strip() \
        if os.path.exists(os.path.join(raw, "machine.txt")) else ""
    s["throughput"] = throughput(raw, n)
    s["half"] = {name: half_load(raw, name, n) for name in SERVERS}
    s["half"]["gateway_tmpfs"] = read_run(raw, "half-gateway-tmpfs")
    s["half"]["gateway_redis"] = half_load(raw, REDIS, n)
    s["redis"] = redis_summary(raw, n, s["throughput"], s["half"])
    s["sweep"] = sweep(raw, n, s["half"])
    s["h2load"] = {"baseline": parse_h2load(raw, "baseline"), "gateway": parse_h2load(raw, "gateway"),
                   "gateway_metrics": gateway_h2load_metrics(raw)}
    s["ghz"] = ghz_summary(raw, n, s["throughput"])
    s["c10k"] = {"wave": read_run(raw, "c10k-wave"), "sustained": read_run(raw, "c10k-sustained"),
                 "process": process(raw, "")}
    if read_json(raw, "max-gateway-compare-1") is not None:
        s["compare"] = {
            "throughput": throughput(raw, n, "-compare"),
            "c10k": {"wave": read_run(raw, "c10k-wave-compare"),
                     "sustained": read_run(raw, "c10k-sustained-compare"),
                     "process": process(raw, "-compare")},
        }
    return s


def pct(r, key):
    return ms(r["percentiles"][key])


def commandstats(path):
    """Calls per command from Redis's INFO commandstats."""
    if not os.path.exists(path):
        return None
    calls = {}
    for line in open(path):
        m = re.match(r"cmdstat_([^:]+):calls=(\d+)", line.strip())
        if m:
            calls[m.group(1)] = int(m.group(2))
    return calls


def info_field(path, field):
    if not os.path.exists(path):
        return None
    for line in open(path):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def redis_run(raw, name):
    """What Redis did during one load run of the gateway with Redis: its CPU
    per call, and its commands per call (EVALSHA and EVAL: the round trips;
    every command but the bench's own INFO, those the scripts run included)."""
    r = read_json(raw, name)
    before = commandstats(os.path.join(raw, name + ".redis-before"))
    after = commandstats(os.path.join(raw, name + ".redis-after"))
    if r is None or before is None or after is None or r["count"] == 0:
        return None
    diff = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    scripts = diff.get("evalsha", 0) + diff.get("eval", 0)
    out = {"calls": r["count"], "evalsha": diff.get("evalsha", 0), "eval": diff.get("eval", 0),
           "round_trips_per_call": scripts / r["count"],
           # Commands that the scripts call count here too.
           "commands_per_call": sum(v for k, v in diff.items() if k != "info") / r["count"]}
    path = os.path.join(raw, name + ".redis-cpu")
    if os.path.exists(path):
        ticks, hz = open(path).read().split()
        out["redis_cpu_us_per_call"] = int(ticks) / int(hz) * 1e6 / r["count"]
    return out


def redis_summary(raw, n, t, half):
    """The gateway with Redis beside the in-memory gateway, same run."""
    if not t or REDIS not in t:
        return None
    out = {"version": (open(os.path.join(raw, "redis-version.txt")).read().strip()
                       if os.path.exists(os.path.join(raw, "redis-version.txt")) else ""),
           "throughput_ratio": t[REDIS]["median"]["rps"] / t["gateway"]["median"]["rps"],
           "throughput_ratio_trials": [r / g for r, g in zip(t[REDIS]["rps_all"], t["gateway"]["rps_all"])],
           "max": [redis_run(raw, f"max-{REDIS}-{i}") for i in range(1, n + 1)],
           "half": [redis_run(raw, f"half-{REDIS}-{i}") for i in range(1, n + 1)]}
    out["max"] = [x for x in out["max"] if x]
    out["half"] = [x for x in out["half"] if x]
    h, g = half.get("gateway_redis"), half.get("gateway")
    if h and g:
        out["half_p50_delta_ms"] = h["p50_ms"] - g["p50_ms"]
        out["half_p99_delta_ms"] = h["p99_ms"] - g["p99_ms"]
    used0 = info_field(os.path.join(raw, "redis-memory-start.txt"), "used_memory")
    used1 = info_field(os.path.join(raw, "redis-memory-end.txt"), "used_memory")
    keys = info_field(os.path.join(raw, "redis-keyspace-end.txt"), "db0")
    if used0 and used1 and keys:
        count = int(re.match(r"keys=(\d+)", keys).group(1))
        out["keys_at_end"] = count
        out["used_memory_bytes_at_end"] = int(used1)
        out["bytes_per_key"] = (int(used1) - int(used0)) / count if count else None
    return out


def tables(raw, n):
    s = summary(raw, n)
    out = []
    w = out.append
    w(f"Settings: {s['settings']}.  ")
    w("Machine: " + "; ".join(s["machine"].splitlines()) + ".")
    w("")
    t = s["throughput"]
    if t:
        w("### Throughput: bare gRPC baseline, design floor and gateway (idgate-load, same settings)")
        w("")
        w("| server | calls/s (median of trials) | all trials | ratio | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/call | failures |")
        w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, label in (("baseline", "baseline (bench/baseline)"),
                            ("floor", "design floor (bench/floor: durable record, then in-process provider RPC)"),
                            ("gateway", "gateway (carrier, mock 0 ms, durable ledger)"),
                            (REDIS, "gateway with Redis (the same, sharedState.redis on a local redis-server)")):
            x = t.get(name)
            if not x:
                continue
            r = x["median"]
            ratio = f"**{x['ratio']:.2f}**" if name == "gateway" else f"{x['ratio']:.2f}"
            w(f"| {label} | {r['rps']:.0f} | {', '.join(f'{v:.0f}' for v in x['rps_all'])} | {ratio} | "
              f"{pct(r, 'p50'):.2f} | {pct(r, 'p90'):.2f} | {pct(r, 'p99'):.2f} | {pct(r, 'max'):.2f} | "
              f"{cpu(r)} | {failures(r)} |")
        w("")
    h = s["half"]
    if h["gateway"]:
        g, b = h["gateway"], h["baseline"]
        rate = g["trials"][0]["options"]["rps"]
        w(f"### Latency at half of the gateway's maximum ({rate:.0f} calls/s, paced)")
        w("")
        w("| server | run | achieved calls/s | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/call | cores busy | failures |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        rows = [("gateway (mock latency 0)", f"trial {i}", r) for i, r in enumerate(g["trials"], 1)]
        rows += [("baseline, same rate", f"trial {i}", r) for i, r in enumerate(b["trials"], 1)] if b else []
        fl = h.get("floor")
        rows += [("design floor, same rate", f"trial {i}", r) for i, r in enumerate(fl["trials"], 1)] if fl else []
        gr = h.get("gateway_redis")
        rows += [("gateway with Redis, same rate", f"trial {i}", r) for i, r in enumerate(gr["trials"], 1)] if gr else []
        rows.append(("diagnostic: gateway with its ledger on tmpfs (fdatasync free, not durable)", "one run",
                     h.get("gateway_tmpfs")))
        for label, run, r in rows:
            if r:
                w(f"| {label} | {run} | {r['rps']:.0f} | {pct(r, 'p50'):.3f} | {pct(r, 'p90'):.3f} | "
                  f"{pct(r, 'p99'):.3f} | {pct(r, 'max'):.3f} | {cpu(r)} | {busy(r)} | {failures(r)} |")
        w("")
        w(f"Added latency over the mock's own (0 ms), median of {len(g['trials'])} trials: "
          f"p50 **{g['p50_ms']:.3f} ms** (target ≤ 1 ms), p99 **{g['p99_ms']:.3f} ms** (target ≤ 5 ms)"
          + (f"; over the bare baseline at the same rate: p50 {g['p50_ms'] - b['p50_ms']:+.3f} ms, "
             f"p99 {g['p99_ms'] - b['p99_ms']:+.3f} ms" if b else "")
          + (f"; the design floor alone at this rate: p50 {fl['p50_ms']:.3f} ms, p99 {fl['p99_ms']:.3f} ms."
             if fl else "."))
        w("")
    if s["redis"]:
        redis_table(w, s)
    if len(s["sweep"]) > 1:
        sweep_table(w, s["sweep"], s["throughput"])
    c = s["c10k"]
    if c["wave"]:
        w("### 10,000 calls in flight, mock provider at 1 s latency")
        w("")
        c10k_table(w, [("this build", c)] +
                   ([("COMPARE_IDGATE", s["compare"]["c10k"])] if "compare" in s else []))
    hl = s["h2load"]
    if hl["baseline"] or hl["gateway"]:
        w("### h2load (nghttp2) as an independent load generator")
        w("")
        w("| server | calls/s | requests done | HTTP 2xx | mean ms | max ms |")
        w("|---|---:|---:|---:|---:|---:|")
        for name in ("baseline", "gateway"):
            r = hl[name]
            if r:
                w(f"| {name} | {r.get('rps', 0):.0f} | {r.get('done', 0)} | {r.get('2xx', 0)} | "
                  f"{r.get('mean_ms', 0):.2f} | {r.get('max_ms', 0):.2f} |")
        m = hl["gateway_metrics"]
        w("")
        w("h2load cannot see grpc-status (it arrives in HTTP/2 trailers; a failed call is still HTTP 200), "
          "so its 2xx count says nothing about gRPC success. It sends one body, so every gateway call after "
          "the first carries the same request_id and is an idempotent replay: this row measures the replay "
          "path (caller identity, validation, keyed fingerprint, idempotency lookup), not the ledger and "
          "provider path that idgate-load measures above.")
        if m:
            w(f"The gateway's own metrics over the h2load run: {m.get('handled', 0)} calls handled, "
              f"{m.get('ok', 0)} with grpc-status OK, {m.get('provider_calls', 0)} provider call(s).")
        w("")
    if s["ghz"] and t:
        ghz_table(w, s["ghz"], t)
    j = s.get("compare")
    if j and j["throughput"]:
        t = j["throughput"]
        w("### The same with COMPARE_IDGATE as the gateway (same baseline binary)")
        w("")
        w("| server | calls/s (median) | all trials | ratio | p50 ms | p99 ms | server CPU µs/call |")
        w("|---|---:|---|---:|---:|---:|---:|")
        for name in ("baseline", "gateway"):
            x = t[name]
            r = x["median"]
            ratio = f"**{x['ratio']:.2f}**" if name == "gateway" else f"{x['ratio']:.2f}"
            w(f"| {name} | {r['rps']:.0f} | {', '.join(f'{v:.0f}' for v in x['rps_all'])} | {ratio} | "
              f"{pct(r, 'p50'):.2f} | {pct(r, 'p99'):.2f} | {cpu(r)} |")
        w("")
    return "\n".join(out) + "\n"


def ghz_table(w, g, t):
    w("### ghz beside idgate-load (loadtest/carrier.json, the same connections, concurrency and duration)")
    w("")
    w(f"{g['version'] or 'ghz'} and idgate-load, each in the same rounds of trials against the same "
      "baseline and gateway processes; the median trial by calls/s. The load generator runs on the "
      "server's two cores: its own CPU per call is CPU the server does not get.")
    w("")
    w("| server | load generator | calls/s (median) | all trials | gateway / baseline | p50 ms | p90 ms | p99 ms | "
      "server CPU µs/call | generator CPU µs/call | cores busy | failures |")
    w("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("baseline", "gateway"):
        x, r = t[name], t[name]["median"]
        ratio = f"{x['ratio']:.2f}" if name == "gateway" else ""
        w(f"| {name} | idgate-load | {r['rps']:.0f} | {', '.join(f'{v:.0f}' for v in x['rps_all'])} | {ratio} | "
          f"{pct(r, 'p50'):.2f} | {pct(r, 'p90'):.2f} | {pct(r, 'p99'):.2f} | {cpu(r)} | "
          f"{cpu(r, 'generator_cpu_us_per_call')} | {busy(r)} | {failures(r)} |")
        y, q = g[name], g[name]["median"]
        ratio = f"{g['ratio']:.2f}" if name == "gateway" else ""
        f = lambda v: "–" if v is None else f"{v:.2f}"
        w(f"| {name} | ghz | {q['rps']:.0f} | {', '.join(f'{v:.0f}' for v in y['rps_all'])} | {ratio} | "
          f"{f(q['p50_ms'])} | {f(q['p90_ms'])} | {f(q['p99_ms'])} | {cpu(q)} | "
          f"{cpu(q, 'generator_cpu_us_per_call')} | {busy(q)} | {q['failures']} |")
    w("")


def redis_table(w, s):
    x, t, h = s["redis"], s["throughput"], s["half"]
    g, r = t["gateway"]["median"], t[REDIS]["median"]
    hg, hr = h["gateway"], h["gateway_redis"]
    w("### The gateway with Redis beside the in-memory gateway (same run)")
    w("")
    version = re.search(r"v=(\S+)", x["version"])
    w(f"The gateway with `sharedState.redis` on a local redis-server (Redis {version.group(1) if version else '?'}, "
      "no persistence, on the same two cores), against the same gateway keeping idempotency and "
      "limits in memory. Round trips are Redis's own count (`INFO commandstats`: EVALSHA + EVAL "
      "over the run) divided by the calls the load generator completed.")
    w("")
    w("| | in-memory gateway | gateway with Redis | target |")
    w("|---|---:|---:|---|")
    trials_ratio = ", ".join(f"{v:.2f}" for v in x["throughput_ratio_trials"])
    w(f"| calls/s at maximum (median of trials) | {g['rps']:.0f} | {r['rps']:.0f} | |")
    w(f"| throughput, Redis ÷ in-memory | | **{x['throughput_ratio']:.2f}** (trials: {trials_ratio}) | ≥ 0.85 |")
    if hg and hr:
        rate = hg["trials"][0]["options"]["rps"]
        w(f"| p50 ms at half load ({rate:.0f} calls/s, median of trials) | {hg['p50_ms']:.3f} | "
          f"**{hr['p50_ms']:.3f}** ({x['half_p50_delta_ms']:+.3f}) | ≤ +0.5 ms |")
        w(f"| p99 ms at half load (median of trials) | {hg['p99_ms']:.3f} | {hr['p99_ms']:.3f} "
          f"({x['half_p99_delta_ms']:+.3f}) | |")
    w(f"| gateway CPU µs/call at maximum | {cpu(g)} | {cpu(r)} | |")
    if hg and hr:
        w(f"| gateway CPU µs/call at half load | {cpu(hg['median_p50_trial'])} | {cpu(hr['median_p50_trial'])} | |")

    def per(runs, key, fmt):
        vals = [v[key] for v in runs if v.get(key) is not None]
        return "–" if not vals else f"{fmt(statistics.median(vals))} ({', '.join(fmt(v) for v in vals)})"
    f1 = lambda v: f"{v:.1f}"
    f2 = lambda v: f"{v:.2f}"
    w(f"| redis-server CPU µs/call at maximum (median; trials) | – | {per(x['max'], 'redis_cpu_us_per_call', f1)} | |")
    w(f"| redis-server CPU µs/call at half load | – | {per(x['half'], 'redis_cpu_us_per_call', f1)} | |")
    both = [c + m["redis_cpu_us_per_call"] for c, m in zip(t[REDIS]["cpu_all"], x["max"])
            if c is not None and m.get("redis_cpu_us_per_call") is not None]
    if both:
        w(f"| gateway + redis-server CPU µs/call at maximum (median of trials) | {cpu(g)} | "
          f"{statistics.median(both):.1f} | |")
    w(f"| Redis round trips per Verify (EVALSHA + EVAL), maximum | – | **{per(x['max'], 'round_trips_per_call', f2)}** | 2 |")
    w(f"| Redis round trips per Verify, half load | – | {per(x['half'], 'round_trips_per_call', f2)} | 2 |")
    w(f"| Redis commands run per Verify, the scripts' own included | – | "
      f"{per(x['max'] + x['half'], 'commands_per_call', f2)} | |")
    if x.get("bytes_per_key"):
        w(f"| Redis memory per stored answer (used_memory ÷ keys at the end: {x['keys_at_end']} keys) | – | "
          f"{x['bytes_per_key']:.0f} bytes | |")
    w("")


def sweep_table(w, rows, t):
    w("### Latency against load (paced, fractions of the gateway's maximum)")
    w("")
    w("p50 / p99 ms, server CPU µs/call, and how busy the two cores were during the run (the load "
      "generator included).")
    w("")
    w("| fraction of the gateway's maximum | calls/s | gateway | design floor | bare baseline | failures |")
    w("|---:|---:|---|---|---|---:|")
    for row in rows:
        runs = row["runs"]
        def cell(name):
            r = runs.get(name)
            if not r:
                return "–"
            return (f"{row['p50_ms'][name]:.3f} / {row['p99_ms'][name]:.3f}; {cpu(r)} µs; {busy(r)}")
        w(f"| {row['fraction']:g}{' (median of trials)' if row['fraction'] == 0.5 else ''} | "
          f"{runs['gateway']['rps']:.0f} | {cell('gateway')} | {cell('floor')} | {cell('baseline')} | "
          f"{sum(failures(r) for r in runs.values() if r)} |")
    w("")
    within = [row for row in rows if row["p50_ms"]["gateway"] <= 1.0 and row["p99_ms"]["gateway"] <= 5.0]
    peak = t["gateway"]["median"]["rps"] if t else None
    if within and peak:
        top = max(within, key=lambda row: row["fraction"])
        w(f"The highest measured load at which the gateway's added latency held both targets "
          f"(p50 ≤ 1 ms, p99 ≤ 5 ms): {top['runs']['gateway']['rps']:.0f} calls/s, "
          f"{top['fraction']:g} of its maximum ({peak:.0f} calls/s).")
    else:
        w("At none of the measured loads did the gateway's added latency hold both targets "
          "(p50 ≤ 1 ms, p99 ≤ 5 ms).")
    w("")


def c10k_table(w, rows):
    w("| gateway | run | calls | OK | failures | most in flight | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/call | peak RSS (VmHWM) MiB | peak threads |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, c in rows:
        p = c["process"]
        hwm = p.get("status_VmHWM")
        for run, r in (("one wave of 10,000 at once", c["wave"]),
                       ("closed loop, 10,000 in flight (first wave not counted)", c["sustained"])):
            if not r:
                continue
            ok = r["statusCodeDistribution"].get("OK", 0)
            w(f"| {label} | {run} | {r['count']} | {ok} | {failures(r)} | {r['maxInFlight']} | "
              f"{pct(r, 'p50'):.0f} | {pct(r, 'p90'):.0f} | {pct(r, 'p99'):.0f} | {pct(r, 'max'):.0f} | "
              f"{cpu(r)} | {hwm / 1024:.0f} | {p.get('peak_threads')} |")
    w("")
    w("Targets: all succeed, p99 ≤ 1300 ms, peak RSS ≤ 1024 MiB, threads ≤ 64. "
      "Peak RSS is the gateway's VmHWM after both runs; threads are sampled every 100 ms.")
    w("")


def plot_data(raw, n, out_dir):
    s = summary(raw, n)
    series = []
    t = s["throughput"]
    if t:
        series += [(f"max-{name}", t[name]["median"] if name in t else None) for name in SERVERS]
    for name in SERVERS:
        h = s["half"][name]
        series.append((f"half-{name}", h and h["median_p50_trial"]))
    for name, r in series:
        with open(os.path.join(out_dir, name + ".dat"), "w") as f:
            if not r:
                continue
            for point in r["spectrum"]:
                p = point["percentage"]
                if p >= 100:
                    continue
                f.write(f"{1.0 / (1.0 - p / 100.0):.6g} {ms(point['latency']):.6g} {p:.6g}\n")


def main():
    mode, raw, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "rate":
        t = throughput(raw, n)
        print(max(1, int(round(t["gateway"]["median"]["rps"] * float(sys.argv[4])))))
    elif mode == "tables":
        sys.stdout.write(tables(raw, n))
    elif mode == "json":
        s = summary(raw, n)
        json.dump(s, sys.stdout, indent=1, default=str)
        print()
    elif mode == "plot-data":
        plot_data(raw, n, sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
