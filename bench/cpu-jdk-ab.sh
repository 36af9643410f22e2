#!/usr/bin/env bash
# Our CPU backend on JDK 17 against JDK 22+ (the same kernels, the same checkpoint), with llama.cpp beside both, in one run.
#
#   bench/cpu-jdk-ab.sh [THREADS] [WORK_DIR]        (WORK_DIR as prepared by bench/cpu-vs-llama.sh: llama.cpp built,
#                                                   the random glm-edge-1.5b checkpoint and its GGUF files)
#   env: JDK_NEW (default /usr/lib/jvm/temurin-25-jdk-amd64), RUNS (rounds, default 3), TYPES (default "BF16 Q8_0 Q4_0")
#
# The same jar on both: its kernels load through VectorLoads, ByteBuffer loads on JDK 17 and MemorySegment loads on 22+.
# In each round, for each type: llama-bench (pp128, tg32), then CpuDecode on JDK 17 and on JDK_NEW, their order
# swapped every round; the load average beside each; then medians over the rounds and the same-run ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
WORK=$(cd "${2:-bench/target/cpu-vs-llama}" && pwd)
RUNS=${RUNS:-3}
TYPES=${TYPES:-BF16 Q8_0 Q4_0}
JDK_NEW=${JDK_NEW:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAR=$(pwd)/bench/target/benchmarks.jar
MODEL="$WORK/glm-edge-1.5b-bf16"
LLAMA_BENCH="$WORK/llama.cpp/build/bin/llama-bench"
echo "JDK 17: $(java -version 2>&1 | head -1); new: $("$JDK_NEW/bin/java" -version 2>&1 | head -1)"

LOG="$WORK/jdk-ab.txt"
: > "$LOG"
source bench/cpu/runs.sh
for ROUND in $(seq 1 "$RUNS"); do
  for T in $TYPES; do
    case $T in BF16) Q=();; Q8_0) Q=(--quantize q8_0);; Q4_0) Q=(--quantize q4_0);; esac
    echo "== round $ROUND, $T, $THREADS threads, $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
    llama_bench "$T"
    if [ $((ROUND % 2)) -eq 1 ]; then ORDER="J17 JNEW"; else ORDER="JNEW J17"; fi
    for J in $ORDER; do
      echo "-- $J, $T, load $(cut -d' ' -f1-3 /proc/loadavg)"
      if [ "$J" = J17 ]; then cpu_decode J17 java "$T" "${Q[@]}"
      else cpu_decode JNEW "$JDK_NEW/bin/java" "$T" "${Q[@]}"; fi
    done
  done
done
echo "== medians of the rounds above ($THREADS threads)"
python3 - "$LOG" <<'PY'
import statistics, sys
v = {}
for line in open(sys.argv[1]):
    who, t, key, x = line.split()
    v.setdefault((who, t, key), []).append(float(x))
m = {k: statistics.median(x) for k, x in v.items()}
print("| type | measure | JDK 17 | JDK new | new / 17 | llama.cpp | 17 / llama | new / llama |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for t in dict.fromkeys(k[1] for k in m):
    for key, name, lk in (("pp", "prefill pp128 tok/s", "pp"), ("tg", "decode tg32 tok/s", "tg"),
                          ("batch", "batch 8 tok/s", None), ("tgcpu", "decode tok per CPU s", None),
                          ("batchcpu", "batch 8 tok per CPU s", None)):
        a, b = m.get(("J17", t, key)), m.get(("JNEW", t, key))
        if a is None or b is None:
            continue
        l = m.get(("LLAMA", t, lk)) if lk else None
        ls = f"| {l:.2f} | {a / l:.2f}x | {b / l:.2f}x |" if l else "| | | |"
        print(f"| {t} | {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x {ls}")
    for key, name in (("batch", "batch 8 / single"), ("batchcpu", "batch 8 / single per CPU s")):
        a, b = m.get(("J17", t, key)), m.get(("JNEW", t, key))
        s17, sn = m.get(("J17", t, "tg" if key == "batch" else "tgcpu")), m.get(("JNEW", t, "tg" if key == "batch" else "tgcpu"))
        if a and b and s17 and sn:
            print(f"| {t} | {name} | {a / s17:.2f}x | {b / sn:.2f}x | | | | |")
    a, b = m.get(("J17", t, "rss_ratio")), m.get(("JNEW", t, "rss_ratio"))
    if a and b:
        print(f"| {t} | RSS / (weights + KV) | {a:.2f}x | {b:.2f}x | | | | |")
PY
