#!/usr/bin/env bash
# The CUDA backend's checks on a GPU host, as one script (prepared by kernels/scripts/device-prepare.sh):
#   1. ReferenceParity on both fp32 fixtures, fp32 compute (must match: greedy ids exact, logits < 1e-3),
#      then bf16 compute (tolerance report);
#   2. HF transformers on the same GPU against the same references (side by side);
#   3. bench-decode for glm-edge-1.5b and glm-4-9b, and transformers' bf16 decode on the same shapes;
#   4. the CLI's generate --backend cuda --dump-logits --json, when the jar has it;
#   5. serve --backend cuda answering the reference prompts over HTTP, one at a time and 48 at once;
#   ab: paged attention for decode steps ($AB) beside the default decode_attention: fp32 parity, then the batch-1
#   decode rate of each and of decode_attention at 4 and at 16 warps (and, for the 1.5B, 32 and 128 key rows a
#   split), in turn, twice for each shape.
#   trace: the batch-1 step's timeline from inside the kernels (AUTOGLM_TRACE), both shapes.
#   (Runs 4-20 compared --cuda-option fused-decode=false, flash-attention=false, define=PDL_EARLY_TRIGGER=0, L2
#   warming, split sizes and shared memory carveouts here; see bench/RESULTS.md.)
#   ablate: the 1.5B batch-1 step without each kernel in turn (what it costs inside the graph step).
#   ncu: Nsight Compute's sections for the kernels of one 1.5B batch-1 decode layer.
# bench-decode runs with --profile: GPU time per kind of kernel for the prefill and each decode batch.
#   quant: --quantize fp8 and int8: the fixtures' tolerance report and bench-decode of both shapes.
#   servebench: bench serve (ShareGPT-like mix, concurrency 1/16/64/256) against serve --backend cuda, beside
#   bench-decode on the same checkpoint.
#   fp8gemm: the quantized prefill GEMM paths against each other (cuBLASLt fp8 / gemm_q8_tiles / dequantize + cuBLAS):
#   fixture parity of each, and the 9B's 2048-token fp8 prefill rate of each.
#   goals: issue 23's goal table in one pass (see the step; ONLY=goals BUDGET=720).
# ONLY=parity,ab,bench,repeat,trace,ncu,ablate,hf,generate,serve,quant,servebench,fp8gemm,goals (comma-separated) runs
# just those.
# Figures go to $OUT (default ./device-out). A step that fails is reported and the next one runs; each step has a
# time limit inside an overall budget ($BUDGET seconds, default 400).
set -u
D=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
START=$(date +%s)
BUDGET=${BUDGET:-400}
left() { echo $(( START + BUDGET - $(date +%s) )); }
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
step() {   # step NAME MAX_SECONDS OUTFILE CMD...
  local name=$1 max=$2 file=$3; shift 3
  local t=$(( $(left) - 5 )); [ "$t" -gt "$max" ] && t=$max
  if [ "$t" -lt 20 ]; then echo "== SKIP $name: budget spent"; return; fi
  echo "== $name (limit ${t}s) at +$(( $(date +%s) - START ))s"
  local s=$(date +%s)
  if [ -n "$file" ]; then timeout -k 5 "$t" "$@" > "$OUT/$file"; else timeout -k 5 "$t" "$@"; fi
  local rc=$?
  echo "== $name: exit $rc after $(( $(date +%s) - s ))s"
  [ -n "$file" ] && head -c 1500 "$OUT/$file" && echo
  [ -f /tmp/hs_err.log ] && { echo "-- JVM crash log:"; head -60 /tmp/hs_err.log; rm -f /tmp/hs_err.log; }
}

echo "== $(date -u) on $(hostname), checkout commit $(cat "$D/commit.txt" 2>/dev/null)"
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
libdirs=$(find /usr/local /usr/lib /usr/lib64 /opt -xdev \( -name 'libnvrtc.so*' -o -name 'libcublas.so*' -o -name 'libcuda.so*' \) -not -path '*/stubs/*' 2>/dev/null | tee /dev/stderr | xargs -r -n1 dirname | sort -u | paste -sd:)
export AUTOGLM_CUDA_LIB_DIRS=$libdirs
export AUTOGLM_KERNEL_CACHE=/tmp/autoglm-kernels
tar xzf "$D/jre.tgz" -C /tmp
JAVA=/tmp/jre/bin/java
mkdir -p /tmp/nodejar && tar xJf "$D/node-cuda.tar.xz" -C /tmp/nodejar
python3 - <<'PY'
import os, zipfile
os.chdir("/tmp/nodejar")
with zipfile.ZipFile("/tmp/autoglm-node-cuda.jar", "w", zipfile.ZIP_STORED) as z:
    z.write("META-INF/MANIFEST.MF")
    for root, _, files in os.walk("."):
        for f in files:
            p = os.path.relpath(os.path.join(root, f))
            if p != "META-INF/MANIFEST.MF":
                z.write(p)
PY
JAR=/tmp/autoglm-node-cuda.jar
JOPTS="-XX:ErrorFile=/tmp/hs_err.log -Xss4m ${EXTRA_JOPTS:-}"
FIX=$D/fixtures
ls -la "$JAR"

want parity && step "parity fp32 (ours vs reference; paged attention, then dense attention for every prompt)" 120 parity-fp32.json bash -c "$JAVA $JOPTS -cp $JAR org.autoglm.kernels.check.ReferenceParity '$FIX' fp32 glm-tiny glm4-tiny; $JAVA $JOPTS -cp $JAR org.autoglm.kernels.check.ReferenceParity '$FIX' fp32 dense-attention-min-tokens=1 glm-tiny glm4-tiny"
want bench && step "bench-decode glm-edge-1.5b" 100 bench-glm-edge-1.5b.json $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --shape glm-edge-1.5b --batch 1,8,64,256 --prompt-tokens 128 --new-tokens 128 --profile --json
want hf && step "transformers parity fp32 (same GPU)" 60 hf-parity.json python3 "$D/hf_parity.py" "$FIX" glm-tiny glm4-tiny
want parity && step "parity bf16 compute (ours vs fp32 reference)" 45 parity-bf16.json $JAVA $JOPTS -cp $JAR org.autoglm.kernels.check.ReferenceParity "$FIX" bf16 dense-attention-min-tokens=8 glm-tiny glm4-tiny
want bench && step "bench-decode glm-4-9b" 120 bench-glm-4-9b.json $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --shape glm-4-9b --batch 1,8,64,256 --prompt-tokens 128 --new-tokens 128 --profile --json
# ab: paged attention (--cuda-option decode-attention=false) beside the default decode_attention; fp32 parity of
# that, then the batch-1 decode rate of each and of decode_attention with 4 and 16 warps forced, in turn.
AB="--cuda-option decode-attention=false"
want ab && step "parity fp32, paged attention for decode steps" 60 parity-fp32-paged.json $JAVA $JOPTS -cp $JAR org.autoglm.kernels.check.ReferenceParity "$FIX" fp32 decode-attention=false glm-tiny glm4-tiny
# rate LABEL BENCH_OPTS...: one line with the batch-1 decode rate of $SHAPE (default the 1.5B) under those options.
rate() {
  local label=$1; shift
  $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --shape ${SHAPE:-glm-edge-1.5b} --batch 1 --prompt-tokens 128 \
    --new-tokens 128 --json "$@" 2>/dev/null > /tmp/rate.json
  python3 -c 'import json, sys; r = json.load(open("/tmp/rate.json"))["decode"][0]["decode_steps_per_s"]
print(f"{r:8.1f} steps/s {1e6 / r:8.1f} us/step  {sys.argv[1]}")' "$label"
}
# ablate: what each kernel of the 1.5B batch-1 step costs inside the real graph step (with dependent launch), as the
# step time without it (--cuda-option skip-kernels: measurement only, the results are wrong), twice in turn.
ablate() {
  for round in 1 2; do
    # (gemv: o and down; gemv_rmsnorm_silu: gate_up with SiLU-mul; gemv_rmsnorm: the LM head)
    for skip in none decode_attention gemv gemv_rmsnorm_silu gemv_rmsnorm_rope \
        gemv,gemv_rmsnorm_silu,gemv_rmsnorm,gemv_rmsnorm_rope \
        decode_attention,gemv,gemv_rmsnorm_silu,gemv_rmsnorm,gemv_rmsnorm_rope; do
      rate "round $round without $skip" --cuda-option skip-kernels=$skip
    done
  done
}
# warps: decode_attention's block size against paged attention at batch 1, in turn (1.5B twice, then 9B twice), and
# for the 1.5B the size of a split.
warps() {
  for shape in glm-edge-1.5b glm-4-9b; do
    for round in 1 2; do
      SHAPE=$shape rate "$shape round $round paged attention" $AB
      SHAPE=$shape rate "$shape round $round decode_attention (default: a warp per query head, at least 4)"
      SHAPE=$shape rate "$shape round $round decode_attention, 4 warps" --cuda-option decode-attention-warps=4
      SHAPE=$shape rate "$shape round $round decode_attention, 16 warps" --cuda-option decode-attention-warps=16
      if [ $shape = glm-edge-1.5b ]; then
        for rows in 32 128; do
          SHAPE=$shape rate "$shape round $round decode_attention, $rows key rows a split (default 64)" \
            --cuda-option decode-key-rows-per-split=$rows
        done
      fi
    done
  done
}
export JAVA JOPTS JAR AB; export -f rate ablate warps
want ab && step "warps: decode_attention's block size against paged attention, batch 1" 120 warps.txt bash -c warps
want ablate && step "ablate: the 1.5B batch-1 step without each kernel" 200 ablate.txt bash -c ablate
# trace: the batch-1 step's timeline from inside the kernels (AUTOGLM_TRACE: each block's %globaltimer at its
# kernel's marks, trace_mark in common.cuh), the last layer's kernels of the last step, both shapes.
tracestep() {
  for shape in glm-edge-1.5b glm-4-9b; do
    $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --shape $shape --batch 1 --prompt-tokens 128 --new-tokens 64 \
      --json --cuda-option define=AUTOGLM_TRACE=1 2>/dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin)
d = r["decode"][0]
print(r["shape"], d["decode_steps_per_s"], "steps/s", round(1e6 / d["decode_steps_per_s"], 1), "us/step")
for kind, marks in d.get("trace_us", {}).items():
    print(" ", kind)
    for m, v in marks.items(): print("    ", m, v)'
  done
}
export -f tracestep
want trace && step "trace: batch-1 step timeline (first / median / last block at each mark, us)" 90 trace.txt bash -c tracestep
# repeat: the batch-1 decode rate of each shape, $REPEAT (default 5) separate processes in turn, for a median (one
# bench-decode run times ~126 steps, and runs on one machine have spread ±8 %).
repeatstep() {
  for i in $(seq 1 ${REPEAT:-5}); do
    for shape in glm-edge-1.5b glm-4-9b; do
      $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --shape $shape --batch 1 --prompt-tokens 128 \
        --new-tokens 128 --json 2>/dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin)
d = r["decode"][0]
print(r["shape"], d["decode_steps_per_s"], "steps/s", d["pct_of_streaming_limit"], "% of", r["weight_streaming_limit_steps_per_s"])'
    done
  done
}
export -f repeatstep
want repeat && step "repeat: batch-1 decode, separate processes in turn" 150 repeat.txt bash -c repeatstep
# ncu: Nsight Compute's view of one decode layer of the 1.5B at batch 1 (each kernel alone: time, throughput, stalls).
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
want ncu && [ -n "$NCU" ] && step "ncu: one 1.5B batch-1 decode layer" 150 ncu.txt "$NCU" --graph-profiling node \
  -k 'regex:decode_attention|paged_attention|gemv' -s 40 -c 5 --section SpeedOfLight --section WarpStateStats \
  --section LaunchStats --section Occupancy $JAVA $JOPTS ${NCU_OPTS:-} -jar $JAR bench-decode --backend cuda \
  --shape glm-edge-1.5b --batch 1 --prompt-tokens 128 --new-tokens 8 --json
want hf && step "transformers bf16 decode (same GPU)" 120 hf-bench.json python3 "$D/hf_bench.py" "$FIX/glm-tiny" 32 1,64 glm-edge-1.5b glm-4-9b
if want generate; then
  if $JAVA -jar $JAR generate --help > /dev/null 2>&1; then
    step "generate --backend cuda --dump-logits --json" 60 generate.json python3 "$D/compare_generate.py" "$FIX" "$JAVA $JOPTS -jar $JAR" glm-tiny glm4-tiny
  else
    echo "== generate: not in this jar"
  fi
fi
want serve && step "serve --backend cuda over HTTP" 150 serve.json python3 "$D/serve_check.py" "$JAVA $JOPTS -jar $JAR" "$FIX"
# quant: --quantize fp8|int8 (weight-only, per-channel scales; quantized.cu). The fixtures' tolerance report in bf16
# (ReferenceParity: logit diffs against the fp32 reference, greedy agreement), then bench-decode of both shapes with
# fp8 and int8 weights beside the bf16 rows of the bench step (the prefill row shows the dequantize-into-tile GEMM).
if want quant; then
  for q in fp8 int8; do
    step "parity $q weights (tolerance report, bf16 compute)" 60 parity-$q.json $JAVA $JOPTS -cp $JAR \
      org.autoglm.kernels.check.ReferenceParity "$FIX" bf16 quantize=$q glm-tiny glm4-tiny
    for shape in glm-edge-1.5b glm-4-9b; do
      step "bench-decode $shape --quantize $q" 100 bench-$shape-$q.json $JAVA $JOPTS -jar $JAR bench-decode \
        --backend cuda --shape $shape --quantize $q --batch 1,8,64,256 --prompt-tokens 128 --new-tokens 128 --json
    done
  done
fi
# servebench: serve --backend cuda on the demo model ($SERVE_MODEL for another checkpoint), bench-decode on the same
# checkpoint at batch 1/16/64/256 (the ceiling), then bench serve at concurrency 1/16/64/256 with a ShareGPT-like mix,
# reporting output tok/s, TTFT/ITL p50/p99 and each level's share of bench-decode's tok/s. SERVE_OPTS adds serve flags
# (default "--cuda-option async-scheduling=true"; SERVE_OPTS= serves with synchronous steps).
servebench() {
  local model=${SERVE_MODEL:-/tmp/autoglm-demo}
  [ -n "${SERVE_MODEL:-}" ] || $JAVA $JOPTS -jar $JAR init-demo "$model" > /dev/null
  $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --model "$model" --batch 1,16,64,256 --prompt-tokens 256 \
    --new-tokens 128 --json > "$OUT/serve-ceiling.json" 2> "$OUT/serve-ceiling.err"
  $JAVA $JOPTS -jar $JAR serve --backend cuda --model "$model" --port 18080 --max-num-seqs 256 ${SERVE_OPTS---cuda-option async-scheduling=true} \
    > "$OUT/serve-bench-node.log" 2>&1 &
  local pid=$!
  for i in $(seq 1 120); do
    python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:18080/ready", timeout=2)' \
      2> /dev/null && break
    sleep 1
  done
  $JAVA $JOPTS -jar $JAR bench serve --url http://127.0.0.1:18080 --concurrency 1,16,64,256 \
    --max-input-tokens 1024 --max-output-tokens 512 --decode-figures "$OUT/serve-ceiling.json" --json
  kill $pid; wait $pid 2>/dev/null
}
export OUT; export -f servebench
want servebench && step "bench serve against serve --backend cuda (demo model), beside bench-decode" 240 \
  bench-serve.json bash -c servebench
# fp8gemm: the quantized prefill paths on the GPU. With fp8 weights on sm_90 the prefill's GEMMs run cuBLASLt's fp8
# GEMM (e4m3 activations per row); cublaslt-fp8=false runs gemm_q8_tiles (weights dequantized into shared-memory
# tiles, bf16 tensor cores), quantized-tiles=false as well dequantize_rows + cuBLAS. ReferenceParity's tolerance
# report (bf16 compute, against the fp32 reference; logits' largest difference, greedy agreement) for each path, int8
# through the tiles and dequantized, each line with the backend's description (it names the path: prefill-gemm=...);
# then the 9B's 2048-token fp8 prefill (bench-decode's prefill_2048 row) through each path.
fp8gemm() {
  for q in "fp8" "fp8 cublaslt-fp8=false" "fp8 cublaslt-fp8=false quantized-tiles=false" "int8" \
      "int8 quantized-tiles=false"; do
    set -- $q
    local kind=$1; shift
    $JAVA $JOPTS -cp $JAR org.autoglm.kernels.check.ReferenceParity "$FIX" bf16 quantize=$kind "$@" glm-tiny glm4-tiny \
      2>/dev/null > /tmp/fp8gemm.json
    python3 - "$q" /tmp/fp8gemm.json <<'PY'
import json, sys
sys.path.insert(0, "/tmp")
text = open(sys.argv[2]).read()
dec = json.JSONDecoder(); i = 0; docs = []
while i < len(text):
    j = text.find("{", i)
    if j < 0: break
    try:
        d, i = dec.raw_decode(text, j); docs.append(d)
    except ValueError:
        i = j + 1
for d in docs:
    for r in d if isinstance(d, list) else d.get("results", [d]):
        if isinstance(r, dict):
            keep = {k: v for k, v in r.items() if k in ("model", "device", "pass") or "diff" in k or "agree" in k or "exact" in k}
            print(sys.argv[1], json.dumps(keep))
PY
  done
  for opts in "" "--cuda-option cublaslt-fp8=false" "--cuda-option cublaslt-fp8=false --cuda-option quantized-tiles=false"; do
    $JAVA $JOPTS -jar $JAR bench-decode --backend cuda --shape glm-4-9b --quantize fp8 --batch 1 --prompt-tokens 16 \
      --new-tokens 8 --json $opts 2>/dev/null | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("prefill 2048 tok/s", r.get("prefill_2048_tok_per_s"), "|", r.get("device"), "|", sys.argv[1] or "default")' "$opts"
  done
}
export FIX; export -f fp8gemm
want fp8gemm && step "fp8gemm: quantized prefill paths, parity and the 9B 2048-token prefill" 200 fp8gemm.txt bash -c fp8gemm
# goals: issue 23's goals in one pass (ONLY=goals BUDGET=720: 12 minutes at most on an H100, the steps in order of
# need, so that a budget spent early skips the last ones): fp32 parity; the 1.5B bf16 batch 1 and 64 with
# asynchronous scheduling beside synchronous steps (bench-decode adds async_* rows: step rate, wall time per step, ids
# equal to the synchronous run's); the 9B with fp8 weights at batch 1 and 256 and its 2048-token prefill, the same
# way; bench serve at 1/16/64/256 beside bench-decode (share of its tok/s at 256, TTFT p99 / p50); transformers on
# the same shapes (the anchor); the quantized prefill paths (fp8gemm above). goals.py writes goals.md: the goal table
# for bench/RESULTS.md.
if want goals; then
  step "goals: parity fp32" 60 parity-fp32.json $JAVA $JOPTS -cp $JAR org.autoglm.kernels.check.ReferenceParity "$FIX" fp32 glm-tiny glm4-tiny
  step "goals: glm-edge-1.5b bf16, batch 1 and 64, sync and async" 90 goal-1.5b.json $JAVA $JOPTS -jar $JAR \
    bench-decode --backend cuda --shape glm-edge-1.5b --batch 1,64 --prompt-tokens 128 --new-tokens 128 --json \
    --cuda-option async-scheduling=true
  step "goals: glm-4-9b fp8, batch 1 and 256, 2048-token prefill, sync and async" 150 goal-9b-fp8.json $JAVA $JOPTS \
    -jar $JAR bench-decode --backend cuda --shape glm-4-9b --quantize fp8 --batch 1,256 --prompt-tokens 128 \
    --new-tokens 96 --json --cuda-option async-scheduling=true
  step "goals: bench serve against serve --backend cuda, beside bench-decode" 240 bench-serve.json bash -c servebench
  step "goals: transformers bf16 decode, same shapes (anchor)" 120 goal-hf.json python3 "$D/hf_bench.py" "$FIX/glm-tiny" 32 1,64 glm-edge-1.5b glm-4-9b
  step "goals: fp8gemm: quantized prefill paths, parity and the 9B 2048-token prefill" 150 fp8gemm.txt bash -c fp8gemm
  python3 "$D/goals.py" "$OUT"
fi
echo "== summary"
python3 "$D/summarize.py" "$OUT"
echo "== done after $(( $(date +%s) - START ))s"
