#!/usr/bin/env python3
"""A device run's figures on one screen, from the JSON files device-check.sh leaves in its output folder.

    python3 summarize.py [OUT_DIR]      (default ./device-out)

For each bench-decode file: the device, the weight-streaming limit, prefill and decode rates, for batch 1 the GPU
time per kind of kernel (--profile), and for a variant run (bench-<shape>-<variant>.json) its decode rates as ratios
to the default run's (bench-<shape>.json). For each ReferenceParity file: pass or fail per model, and the largest
differences. Files that did not parse (a step that failed or timed out) are named as such.
"""
import json
import pathlib
import sys


def documents(text):
    """Every JSON object in text (a step may print several, and log lines around them)."""
    decoder, at, found = json.JSONDecoder(), 0, []
    while True:
        start = text.find("{", at)
        if start < 0:
            return found
        try:
            doc, end = decoder.raw_decode(text, start)
            found.append(doc)
            at = end
        except json.JSONDecodeError:
            at = start + 1


def bench(name, doc):
    print(f"{name}: {doc.get('shape')} on {doc.get('device', '?')}")
    limit = doc.get("weight_streaming_limit_steps_per_s")
    prefill = next((v for k, v in doc.items() if k.startswith("prefill_") and k.endswith("_tok_per_s")), None)
    print(f"  limit {limit} steps/s, prefill {prefill} tok/s")
    for row in doc.get("decode", []):
        if "skipped" in row:
            print(f"  batch {row['batch']}: skipped ({row['skipped']})")
            continue
        print(f"  batch {row['batch']}: {row['decode_steps_per_s']} steps/s, {row['decode_tok_per_s']} tok/s, "
              f"{row['pct_of_streaming_limit']} % of the limit")
        kernels = row.get("gpu_us_by_kernel")
        if kernels and row["batch"] == 1:
            total = kernels.get("total", {})
            print(f"    profile: {total.get('us')} us in {total.get('launches')} launches "
                  f"(graph step {row.get('graph_step_us')} us)")
            for kernel, t in kernels.items():
                if kernel != "total":
                    print(f"      {t['us']:>9} us  {t['launches']:>4} x  {kernel}")


def ratios(name, doc, base_name, base):
    """Decode rate of a variant run against the default run of the same shape, per batch size in both."""
    rates = {r["batch"]: r["decode_steps_per_s"] for r in base.get("decode", []) if "decode_steps_per_s" in r}
    cells = [f"batch {r['batch']} x{r['decode_steps_per_s'] / rates[r['batch']]:.3f}"
             for r in doc.get("decode", []) if "decode_steps_per_s" in r and rates.get(r["batch"])]
    if cells:
        print(f"  against {base_name}: " + ", ".join(cells))


def parity(name, docs):
    for doc in docs:
        results = doc if isinstance(doc, list) else doc.get("results", [doc])
        for r in results if isinstance(results, list) else [results]:
            if not isinstance(r, dict) or "model" not in r:
                continue
            diffs = {k: v for k, v in r.items() if k.endswith("max_abs_diff")}
            exact = {k: v for k, v in r.items() if k.endswith("_exact") or k.endswith("reproducible")}
            status = "PASS" if r.get("pass") else "FAIL"
            print(f"{name}: {r['model']} {r.get('precision')} {status} {r.get('error', '')}")
            print("  " + ", ".join(f"{k} {v:.3g}" for k, v in diffs.items() if isinstance(v, (int, float))))
            if exact:
                print("  " + ", ".join(f"{k} {v}" for k, v in exact.items()))


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "device-out")
    benches = {}   # shape -> (file name, document) of the default run, bench-<shape>.json
    for path in sorted(out.glob("bench-*.json")):
        docs = [d for d in documents(path.read_text(errors="replace")) if isinstance(d, dict) and "shape" in d]
        if docs and path.name == f"bench-{docs[-1]['shape']}.json":
            benches[docs[-1]["shape"]] = (path.name, docs[-1])
    for path in sorted(out.glob("*.json")):
        docs = documents(path.read_text(errors="replace"))
        if not docs:
            print(f"{path.name}: no JSON (the step failed or ran out of time; see log.txt)")
        elif path.name.startswith("bench-") and isinstance(docs[0], dict) and "shape" in docs[0]:
            bench(path.name, docs[-1])
            base = benches.get(docs[-1]["shape"])
            if base and base[0] != path.name:
                ratios(path.name, docs[-1], *base)
        elif path.name.startswith("parity"):
            parity(path.name, docs)
        else:
            print(f"{path.name}: {len(docs)} JSON document(s)")


if __name__ == "__main__":
    main()
