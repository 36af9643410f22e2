package org.autoglm.kernels.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the timeline that kernels compiled with {@code AUTOGLM_TRACE} leave behind ({@code trace_mark} in
 * common.cuh: per kind of kernel, block and mark, the %globaltimer of the step's last launch of that kind) as, per
 * kind, the first / median / last block's time at each mark, in µs from the earliest mark of the step.
 * Measurement only: {@code bench-decode --cuda-option define=AUTOGLM_TRACE=1}.
 */
final class StepTrace {

    /** By TRACE_* number, and the array's shape (common.cuh: keep in sync). */
    static final String[] KINDS = {"embedding", "qkv", "attention", "o", "gate_up", "down", "lm_head", "sample"};
    static final int BLOCKS = 512;
    static final int MARKS = 8;

    private StepTrace() {}

    /** {@code trace}: KINDS x BLOCKS x MARKS timestamps in ns, 0 where nothing was recorded. */
    static Map<String, Object> summarize(long[] trace) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (trace.length < KINDS.length * BLOCKS * MARKS) return out;
        long t0 = Arrays.stream(trace).filter(t -> t > 0).min().orElse(0);
        for (int kind = 0; kind < KINDS.length; kind++) {
            Map<String, Object> marks = new LinkedHashMap<>();
            for (int mark = 0; mark < MARKS; mark++) {
                List<Long> times = new ArrayList<>();
                for (int block = 0; block < BLOCKS; block++) {
                    long t = trace[(kind * BLOCKS + block) * MARKS + mark];
                    if (t > 0) times.add(t - t0);
                }
                if (times.isEmpty()) continue;
                times.sort(null);
                marks.put("mark" + mark, String.format(Locale.ROOT, "%.2f / %.2f / %.2f (%d blocks)", times.get(0) / 1e3,
                        times.get(times.size() / 2) / 1e3, times.get(times.size() - 1) / 1e3, times.size()));
            }
            if (!marks.isEmpty()) out.put(KINDS[kind], marks);
        }
        return out;
    }
}
