package org.autoglm.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where interactive requests' time to first token went: reads the {@code autoglm.timeline} lines the nodes log (one
 * per request at its first token, on the node holding its client) and prints p50 / p99 of each stage for the requests
 * whose first token came within a time window.
 */
final class Timeline {

    /** The stages in the order a request passes them, as the log line names them. */
    private static final List<String> STAGES = List.of("queued", "assigned", "claimed", "admitted", "first", "total");

    private Timeline() {}

    static void print(String phase, List<ServeNode> nodes, long fromMillis, long toMillis) throws IOException {
        Map<String, List<Double>> stages = new LinkedHashMap<>();
        STAGES.forEach(s -> stages.put(s, new ArrayList<>()));
        for (ServeNode node : nodes) {
            for (String line : node.logLines()) {
                int at = line.indexOf(" timeline ");
                if (at < 0 || !line.contains(" at=")) {
                    continue;
                }
                Map<String, String> fields = new LinkedHashMap<>();
                for (String part : line.substring(at).trim().split(" ")) {
                    int eq = part.indexOf('=');
                    if (eq > 0) {
                        fields.put(part.substring(0, eq), part.substring(eq + 1));
                    }
                }
                long when = Long.parseLong(fields.getOrDefault("at", "0"));
                if (when < fromMillis || when > toMillis || "true".equals(fields.get("batch"))) {
                    continue;
                }
                for (String s : STAGES) {
                    double v = Double.parseDouble(fields.getOrDefault(s, "-1"));
                    if (v >= 0) {
                        stages.get(s).add(v);
                    }
                }
            }
        }
        StringBuilder out = new StringBuilder("TTFT stages, " + phase + " (" + stages.get("total").size()
                + " requests; ms p50/p99):");
        stages.forEach((s, values) -> out.append(values.isEmpty() ? " " + s + " -" : String.format(" %s %.0f/%.0f", s,
                ServeNode.percentile(values, 50), ServeNode.percentile(values, 99))));
        System.out.println(out);
    }
}
