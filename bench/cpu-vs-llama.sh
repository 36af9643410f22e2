#!/usr/bin/env bash
# Our CPU backend against llama.cpp on the same CPU, the same random weights and the same threads, in one run.
#
#   bench/cpu-vs-llama.sh [THREADS] [WORK_DIR]        (defaults: all cores, bench/target/cpu-vs-llama)
#   env: RUNS (rounds, default 3), TYPES (default "BF16 Q8_0 Q4_0"), BUDGET_S (default 420: no round starts that
#        would end past it, by the rounds so far; the first always runs; preparation is not counted)
#
# 1. llama.cpp from the source bundle the npm package node-llama-cpp ships (npm pack; cmake and g++ via apt-get when
#    missing), built for this CPU (Release, -O3, GGML_NATIVE = -march=native, OpenMP), llama-bench only.
# 2. A random glm-edge-1.5b-shaped glm4 checkpoint in bf16 (our CpuDecode --write), written as GGUF BF16, Q8_0 and Q4_0
#    by the gguf-py inside that source tree (bench/cpu/safetensors_to_gguf.py).
# 3. RUNS rounds; in each, for each type, llama-bench (pp128, tg32, one repetition) then our CpuDecode (pp128, tg32,
#    batch 8, one run), back to back, with the load average beside each; then the medians over the rounds and our
#    ratio to llama.cpp. On a shared machine only these same-run ratios mean anything.
#
# Both measurements of a round are in bench/cpu/runs.sh (llama.cpp runs with OMP_WAIT_POLICY=passive: why there).
# Needs: mvn -DskipTests package (bench/target/benchmarks.jar), python3 + numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
WORK=${2:-bench/target/cpu-vs-llama}
RUNS=${RUNS:-3}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
JAR=$(pwd)/bench/target/benchmarks.jar

if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null; then
  apt-get update && apt-get install -y cmake g++
fi
if [ ! -x "$WORK/llama.cpp/build/bin/llama-bench" ]; then
  (cd "$WORK" && rm -rf package llama.cpp && npm pack node-llama-cpp >/dev/null && tar xzf node-llama-cpp-*.tgz \
    && git clone -q package/llama/gitRelease.bundle llama.cpp)
  (cd "$WORK/llama.cpp" && cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF >/dev/null \
    && cmake --build build --target llama-bench -j "$(nproc)" >/dev/null)
fi
LLAMA_BENCH="$WORK/llama.cpp/build/bin/llama-bench"
VERSION=$("$LLAMA_BENCH" --version 2>&1 | grep -m1 version || true)
echo "llama.cpp: node-llama-cpp $(cd "$WORK" && ls node-llama-cpp-*.tgz 2>/dev/null | sed 's/node-llama-cpp-//; s/.tgz//') bundle, $VERSION"

MODEL="$WORK/glm-edge-1.5b-bf16"
if [ ! -f "$MODEL/model.safetensors" ]; then
  java --add-modules=jdk.incubator.vector -cp "$JAR" org.autoglm.bench.CpuDecode --write "$MODEL" --dtype bf16
fi
TYPES=${TYPES:-BF16 Q8_0 Q4_0}
for T in $TYPES; do
  [ -f "$WORK/glm-edge-1.5b-$T.gguf" ] || PYTHONPATH="$WORK/llama.cpp/gguf-py" \
    python3 bench/cpu/safetensors_to_gguf.py "$MODEL" "$WORK/glm-edge-1.5b-$T.gguf" "$T"
done

LOG="$WORK/results.txt"
source bench/cpu/runs.sh
: > "$LOG"
BUDGET_S=${BUDGET_S:-420}
START=$(date +%s)
for ROUND in $(seq 1 "$RUNS"); do
  ELAPSED=$(( $(date +%s) - START ))
  if [ "$ROUND" -gt 1 ] && [ $(( ELAPSED + ELAPSED / (ROUND - 1) )) -gt "$BUDGET_S" ]; then
    echo "== stopping after $((ROUND - 1)) rounds: another would pass BUDGET_S=$BUDGET_S s ($ELAPSED s so far)"
    break
  fi
  for T in $TYPES; do
    case $T in BF16) Q=();; Q8_0) Q=(--quantize q8_0);; Q4_0) Q=(--quantize q4_0);; esac
    echo "== round $ROUND, $T, $THREADS threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
    llama_bench "$T"
    cpu_decode OURS java "$T" "${Q[@]}" --bandwidth
  done
done
echo "== per-token overhead, glm-tiny fixture, 1 thread"
java --add-modules=jdk.incubator.vector -cp "$JAR" org.autoglm.bench.CpuDecode fixtures/glm-tiny --threads 1 \
  --prompt 16 --decode 200 --batch 1 --runs 3 2>&1 | grep -v "^WARNING: Using incubator\|^SLF4J"

echo "== medians of the rounds above ($THREADS threads): ours / llama.cpp"
python3 - "$LOG" <<'PY'
import statistics, sys
values = {}
for line in open(sys.argv[1]):
    who, t, key, v = line.split()
    values.setdefault((who, t, key), []).append(float(v))
med = {k: statistics.median(v) for k, v in values.items()}
print("| type | measure | ours tok/s | llama.cpp tok/s | ratio |")
print("| --- | --- | ---: | ---: | ---: |")
for t in dict.fromkeys(k[1] for k in med):
    for ours, theirs, name in (("pp", "pp", "prefill pp128"), ("tg", "tg", "decode tg32")):
        o, l = med.get(("OURS", t, ours)), med.get(("LLAMA", t, theirs))
        if o is not None and l:
            print(f"| {t} | {name} | {o:.2f} | {l:.2f} | {o / l:.2f}x |")
    b, o = med.get(("OURS", t, "batch")), med.get(("OURS", t, "tg"))
    if b and o:
        print(f"| {t} | batch 8 (ours) | {b:.2f} | | {b / o:.2f}x single |")
    bc, oc = med.get(("OURS", t, "batchcpu")), med.get(("OURS", t, "tgcpu"))
    if bc and oc:
        print(f"| {t} | batch 8 / single per CPU second (ours) | {bc:.2f} / {oc:.2f} tok | | {bc / oc:.2f}x single |")
    rss = med.get(("OURS", t, "rss_ratio"))
    if rss:
        print(f"| {t} | resident memory / (weights + KV) (ours) | {rss:.2f}x | | |")
    bw = med.get(("OURS", t, "bandwidth"))
    if bw:
        print(f"| {t} | read bandwidth (Java, same run) | {bw:.1f} GB/s | | |")
PY
