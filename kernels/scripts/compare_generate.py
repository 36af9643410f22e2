"""Runs the CLI's `generate --backend cuda --dump-logits --json` on each fixture's raw prompts and compares with the
reference: prompt ids (tokenizer), greedy ids (exact) and last-position logits (max abs diff).

usage: python3 compare_generate.py FIXTURES_DIR "JAVA_COMMAND -jar JAR" MODEL... > generate.json
"""
import json
import shlex
import subprocess
import sys

fixtures, java, models = sys.argv[1], shlex.split(sys.argv[2]), sys.argv[3:]
results = []
for model in models:
    ref = json.load(open(f"{fixtures}/{model}.reference.json"))
    for case in [c for c in ref["cases"] if c["kind"] == "raw"][:2]:
        cmd = java + ["generate", "--backend", "cuda", "--model", f"{fixtures}/{model}", "--prompt", case["text"],
                      "--max-tokens", str(len(case["greedy_ids"])), "--ignore-eos", "--dump-logits", "--json"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        r = {"model": model, "prompt": case["text"], "exit": run.returncode}
        try:
            out = json.loads(run.stdout.strip().splitlines()[-1])
            r["prompt_ids_match"] = out["prompt_ids"] == case["input_ids"]
            r["greedy_exact"] = out["token_ids"] == case["greedy_ids"]
            r["last_logits_max_abs_diff"] = max(abs(a - b) for a, b in zip(out["last_logits"], case["last_logits"]))
        except Exception as e:  # report what came back instead
            r["error"] = repr(e)
            r["stdout"] = run.stdout[-1500:]
            r["stderr"] = run.stderr[-1500:]
        results.append(r)
print(json.dumps(results, indent=2))
