#!/usr/bin/env python3
"""Issue 23's goals against what `ONLY=goals device-check.sh` measured, as a Markdown table for bench/RESULTS.md.

    python3 goals.py [OUT_DIR]      (default ./device-out)

Reads goal-1.5b.json and goal-9b-fp8.json (bench-decode --json, which carries the asynchronous-scheduling rows),
goal-hf.json (transformers on the same GPU), bench-serve.json (bench serve with bench-decode's ceiling) and
fp8gemm.txt (the quantized prefill paths side by side). A figure
whose file is missing or did not parse is shown as "not measured".
"""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from summarize import documents  # noqa: E402

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "device-out")


def load(name):
    f = out / name
    docs = documents(f.read_text(errors="replace")) if f.exists() else []
    return docs[-1] if docs else None


def row(doc, batch):
    for r in (doc or {}).get("decode", []):
        if r.get("batch") == batch and "decode_steps_per_s" in r:
            return r
    return None


def cell(value, fmt="{:,.0f}"):
    return "not measured" if value is None else fmt.format(value)


def verdict(value, goal, at_most=False):
    if value is None:
        return "—"
    return "met" if (value <= goal if at_most else value >= goal) else "not met"


edge, nine, hf, serve = load("goal-1.5b.json"), load("goal-9b-fp8.json"), load("goal-hf.json"), load("bench-serve.json")
e1, n1, n256 = row(edge, 1), row(nine, 1), row(nine, 256)
best = lambda r: None if r is None else max(r["decode_steps_per_s"], r.get("async_decode_steps_per_s", 0))
prefill = (nine or {}).get("prefill_2048_tok_per_s")
level = next((l for l in (serve or {}).get("levels", []) if l.get("concurrency") == 256), None)
pct = level.get("pct_of_bench_decode") if level else None
ttft_ratio = level["ttft_ms_p99"] / level["ttft_ms_p50"] if level and level.get("ttft_ms_p50") else None

lines = [
    f"Device: {(edge or nine or {}).get('device', 'not measured')}",
    "",
    "| measure | goal | measured | |",
    "| --- | --- | --- | --- |",
    f"| glm-4-9b batch-1 decode, fp8 (sync / async steps/s) | ≥ 250 steps/s | "
    f"{cell(n1 and n1['decode_steps_per_s'])} / {cell(n1 and n1.get('async_decode_steps_per_s'))} | "
    f"{verdict(best(n1), 250)} |",
    f"| glm-edge-1.5b batch-1 decode, bf16 (sync / async steps/s) | ≥ 1,000 steps/s | "
    f"{cell(e1 and e1['decode_steps_per_s'])} / {cell(e1 and e1.get('async_decode_steps_per_s'))} | "
    f"{verdict(best(e1), 1000)} |",
    f"| glm-4-9b batch-256 decode, fp8 (sync / async tok/s) | ≥ 25,000 tok/s | "
    f"{cell(n256 and n256['decode_tok_per_s'])} / "
    f"{cell(n256 and n256.get('async_decode_steps_per_s') and n256['async_decode_steps_per_s'] * 256)} | "
    f"{verdict(n256 and max(n256['decode_tok_per_s'], n256.get('async_decode_steps_per_s', 0) * 256), 25000)} |",
    f"| glm-4-9b 2048-token prefill, fp8 | ≥ 45,000 tok/s | {cell(prefill)} | {verdict(prefill, 45000)} |",
    f"| `serve` at 256 clients, share of bench-decode's tok/s | ≥ 85 % | {cell(pct, '{:.1f} %')} | "
    f"{verdict(pct, 85)} |",
    f"| the same run, p99 TTFT / p50 | ≤ 2× | {cell(ttft_ratio, '{:.2f}×')} | {verdict(ttft_ratio, 2, True)} |",
    "",
    "Asynchronous scheduling (the host's part of a step that async hides = sync step − async step; ids equal to the"
    " synchronous run's must be 1.0):",
    "",
    "| shape | batch | sync µs/step | async µs/step | hidden host µs | ids equal |",
    "| --- | --- | --- | --- | --- | --- |",
]
for name, doc in (("glm-edge-1.5b bf16", edge), ("glm-4-9b fp8", nine)):
    for r in (doc or {}).get("decode", []):
        if "async_step_us" in r:
            lines.append(f"| {name} | {r['batch']} | {r['sync_step_us']} | {r['async_step_us']} | "
                         f"{r['sync_step_us'] - r['async_step_us']:.1f} | {r['async_ids_equal_to_sync']} |")
if hf:
    lines += ["", "transformers on the same GPU (bf16, same shapes): " + json.dumps(hf)[:600]]
if serve:
    lines += ["", "bench serve levels (concurrency: output tok/s, TTFT p50/p99 ms, ITL p50/p99 ms, % of bench-decode):"]
    for l in serve.get("levels", []):
        lines.append(f"- {l.get('concurrency')}: {l.get('output_tok_per_s')} tok/s, TTFT {l.get('ttft_ms_p50')}/"
                     f"{l.get('ttft_ms_p99')}, ITL {l.get('itl_ms_p50')}/{l.get('itl_ms_p99')}, "
                     f"{l.get('pct_of_bench_decode')} %")
paths = out / "fp8gemm.txt"
if paths.exists():
    lines += ["", "Quantized prefill GEMM paths (fixture parity in bf16 against the fp32 reference; the 9B fp8 2048-token"
              " prefill through each path):", "", "```", paths.read_text(errors="replace").strip(), "```"]
text = "\n".join(lines)
(out / "goals.md").write_text(text + "\n")
print(text)
