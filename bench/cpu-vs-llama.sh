#!/usr/bin/env bash
# Our CPU backend against llama.cpp on the same CPU, the same random weights and the same threads, in one run.
#
#   bench/cpu-vs-llama.sh [THREADS] [WORK_DIR]        (defaults: all cores, bench/target/cpu-vs-llama)
#
# 1. llama.cpp from the source bundle the npm package node-llama-cpp ships (npm pack; cmake and g++ via apt-get when
#    missing), built for this CPU (GGML_NATIVE), llama-bench only.
# 2. A random glm-edge-1.5b-shaped glm4 checkpoint in bf16 (our CpuDecode --write), written as GGUF BF16, Q8_0 and Q4_0
#    by the gguf-py inside that source tree (bench/cpu/safetensors_to_gguf.py).
# 3. For each type: llama-bench (pp128, tg32) and our CpuDecode (pp128, tg32, batch 8, bandwidth), alternately, with
#    the load average printed beside each. Needs: mvn -DskipTests package (bench/target/benchmarks.jar), python3 + numpy.
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
for T in BF16 Q8_0 Q4_0; do
  [ -f "$WORK/glm-edge-1.5b-$T.gguf" ] || PYTHONPATH="$WORK/llama.cpp/gguf-py" \
    python3 bench/cpu/safetensors_to_gguf.py "$MODEL" "$WORK/glm-edge-1.5b-$T.gguf" "$T"
done

for T in BF16 Q8_0 Q4_0; do
  case $T in BF16) Q="";; Q8_0) Q="--quantize q8_0";; Q4_0) Q="--quantize q4_0";; esac
  echo "== $T, $THREADS threads, $(cut -d' ' -f1-3 /proc/loadavg) load"
  "$LLAMA_BENCH" -m "$WORK/glm-edge-1.5b-$T.gguf" -t "$THREADS" -p 128 -n 32 -r "$RUNS" -o md 2>/dev/null \
    | grep -E "^\| (model|glm)" || echo "llama-bench failed"
  java --add-modules=jdk.incubator.vector -Xmx4g -cp "$JAR" org.autoglm.bench.CpuDecode "$MODEL" $Q \
    --threads "$THREADS" --prompt 128 --decode 32 --batch 8 --runs "$RUNS" --bandwidth 2>&1 | grep -v "^WARNING: Using incubator"
done
echo "== per-token overhead, glm-tiny fixture, 1 thread"
java --add-modules=jdk.incubator.vector -cp "$JAR" org.autoglm.bench.CpuDecode fixtures/glm-tiny --threads 1 \
  --prompt 16 --decode 200 --batch 1 --runs "$RUNS" 2>&1 | grep -v "^WARNING: Using incubator"
