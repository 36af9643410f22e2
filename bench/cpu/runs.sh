# The two measurements bench/cpu-vs-llama.sh and bench/cpu-jdk-ab.sh take in each round, sourced by both. Each appends
# "WHO TYPE KEY VALUE" lines to $LOG for the scripts' medians. Needs: WORK, MODEL, THREADS, LOG, LLAMA_BENCH.

# llama_bench TYPE: llama-bench pp128 and tg32 on the GGUF of TYPE, one repetition -> "LLAMA TYPE pp|tg tok/s".
# OMP_WAIT_POLICY=passive: with OpenMP's spinning barriers a llama.cpp thread that loses its core stalls the others
# (on this 2-core machine at load 5, Q8_0 tg16 at 2 threads: 0.29 tok/s spinning, 4.0 passive).
llama_bench() {
  OMP_WAIT_POLICY=passive "$LLAMA_BENCH" -m "$WORK/glm-edge-1.5b-$1.gguf" -t "$THREADS" -p 128 -n 32 -r 1 -o csv \
      2>/dev/null | awk -F, -v t="$1" 'NR > 1 { gsub(/"/, ""); for (i = 1; i <= NF; i++) if (h[i] == "n_prompt") p = $i;
        else if (h[i] == "n_gen") g = $i; else if (h[i] == "avg_ts") s = $i;
        print "LLAMA", t, (p > 0 ? "pp" : "tg"), s } NR == 1 { gsub(/"/, ""); for (i = 1; i <= NF; i++) h[i] = $i }' \
      | tee -a "$LOG"
}

# cpu_decode WHO JAVA TYPE [CpuDecode flags...]: our CpuDecode (pp128, tg32, batch 8, one run) on $MODEL with the
# memory options the jar gives a CPU node (-XX:MaxNewSize=64m -XX:GCTimeRatio=4 and the heap free ratios; README) -> "WHO TYPE key value".
cpu_decode() {
  local who=$1 java=$2 t=$3
  shift 3
  "$java" --add-modules=jdk.incubator.vector -Xmx4g -XX:MaxNewSize=64m -XX:GCTimeRatio=4 -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20 -cp "$JAR" \
      org.autoglm.bench.CpuDecode "$MODEL" "$@" --threads "$THREADS" --prompt 128 --decode 32 --batch 8 --runs 1 2>&1 \
      | grep -v "^WARNING: Using incubator\|^SLF4J" \
      | awk -v n="$who" -v t="$t" -v out="$LOG" '{ print }
        /^RESULT/ { for (i = 4; i <= NF; i++) { split($i, kv, "="); print n, t, kv[1], kv[2] >> out } }
        /^bandwidth/ { print n, t, "bandwidth", $2 >> out }
        /^per CPU second/ { print n, t, "tgcpu", $5 >> out; print n, t, "batchcpu", $10 >> out }'
}
