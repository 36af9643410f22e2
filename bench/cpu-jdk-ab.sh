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
ours() { # NAME JAVA CLASSPATH TYPE QUANTIZE...
  local name=$1 java=$2 cp=$3 t=$4
  shift 4
  echo "-- $name, $t, load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$java" --add-modules=jdk.incubator.vector -Xmx4g -XX:MaxNewSize=64m -XX:GCTimeRatio=4 -cp "$cp" org.autoglm.bench.CpuDecode "$MODEL" \
      "$@" --threads "$THREADS" --prompt 128 --decode 32 --batch 8 --runs 1 2>&1 \
      | grep -v "^WARNING: Using incubator\|^SLF4J" \
      | awk -v n="$name" -v t="$t" -v out="$LOG" '/^pp|^per CPU|^load/ { print }
          /^RESULT/ { for (i = 4; i <= NF; i++) { split($i, kv, "="); print n, t, kv[1], kv[2] >> out } }
          /^per CPU second/ { print n, t, "tgcpu", $5 >> out; print n, t, "batchcpu", $10 >> out }'
}
for ROUND in $(seq 1 "$RUNS"); do
  for T in $TYPES; do
    case $T in BF16) Q=();; Q8_0) Q=(--quantize q8_0);; Q4_0) Q=(--quantize q4_0);; esac
    echo "== round $ROUND, $T, $THREADS threads, $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
    OMP_WAIT_POLICY=passive "$LLAMA_BENCH" -m "$WORK/glm-edge-1.5b-$T.gguf" -t "$THREADS" -p 128 -n 32 -r 1 -o csv \
        2>/dev/null | awk -F, -v t="$T" 'NR > 1 { gsub(/"/, ""); for (i = 1; i <= NF; i++) if (h[i] == "n_prompt") p = $i;
          else if (h[i] == "n_gen") g = $i; else if (h[i] == "avg_ts") s = $i;
          print "LLAMA", t, (p > 0 ? "pp" : "tg"), s } NR == 1 { gsub(/"/, ""); for (i = 1; i <= NF; i++) h[i] = $i }' \
        | tee -a "$LOG"
    if [ $((ROUND % 2)) -eq 1 ]; then ORDER="J17 JNEW"; else ORDER="JNEW J17"; fi
    for J in $ORDER; do
      if [ "$J" = J17 ]; then ours J17 java "$JAR" "$T" "${Q[@]}"
      else ours JNEW "$JDK_NEW/bin/java" "$JAR" "$T" "${Q[@]}"; fi
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
