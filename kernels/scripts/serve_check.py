"""serve --backend cuda end to end on a GPU host: the node's HTTP API, engine and CUDA backend together.

Starts `serve` on the glm4-tiny fixture, sends every reference prompt (as token ids) greedily, one at a time and
then 48 at once (continuous batching on the GPU), and checks each answer's text against the reference greedy ids
decoded by the `tokenizers` library. Prints one JSON object.
    python3 serve_check.py "JAVA -jar autoglm-node-cuda.jar" FIXTURES_DIR
"""
import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from tokenizers import Tokenizer

java, fixtures = sys.argv[1], sys.argv[2]
backend = sys.argv[3] if len(sys.argv) > 3 else "cuda"
model = f"{fixtures}/glm4-tiny"
port = 18080
log = open("/tmp/serve-check.log", "w")
node = subprocess.Popen(java.split() + ["serve", "--backend", backend, "--model", model, "--port", str(port),
                                        "--num-kv-blocks", "1024"], stdout=log, stderr=log)


def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


out = {}
try:
    start = time.time()
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            pass
        if time.time() - start > 120 or node.poll() is not None:
            raise SystemExit(json.dumps({"error": "node not ready", "log": open("/tmp/serve-check.log").read()[-4000:]}))
        time.sleep(0.5)
    out["ready_seconds"] = round(time.time() - start, 1)
    reference = json.load(open(f"{fixtures}/glm4-tiny.reference.json"))
    tokenizer = Tokenizer.from_file(f"{model}/tokenizer.json")
    cases = reference["cases"]
    expected = [tokenizer.decode(c["greedy_ids"], skip_special_tokens=True) for c in cases]

    def complete(i):
        body = {"model": "glm4-tiny", "prompt": cases[i % len(cases)]["input_ids"], "max_tokens": 24,
                "temperature": 0, "ignore_eos": True}
        r = post("/v1/completions", body)
        text = r["choices"][0]["text"]
        if text != expected[i % len(cases)] and len(mismatches) < 3:
            mismatches.append({"case": i % len(cases), "got": text, "expected": expected[i % len(cases)]})
        return text == expected[i % len(cases)], r["usage"]["completion_tokens"]

    mismatches = []

    one_by_one = [complete(i) for i in range(len(cases))]
    out["sequential_equal"] = [ok for ok, _ in one_by_one]
    t = time.time()
    with ThreadPoolExecutor(48) as pool:
        batched = list(pool.map(complete, range(48)))
    elapsed = time.time() - t
    out["concurrent_48_equal"] = sum(ok for ok, _ in batched)
    out["concurrent_48_tokens_per_second"] = round(sum(n for _, n in batched) / elapsed, 1)
    out["nodes"] = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/cluster/nodes", timeout=5))
    out["mismatches"] = mismatches
    out["passed"] = all(out["sequential_equal"]) and out["concurrent_48_equal"] == 48
finally:
    node.terminate()
    try:
        node.wait(20)
    except subprocess.TimeoutExpired:
        node.kill()
print(json.dumps(out, indent=1))
