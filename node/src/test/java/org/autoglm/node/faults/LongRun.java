package org.autoglm.node.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The long fault run ({@code bench}'s FaultBench): seeded schedules over {@code --parallel} independent clusters of
 * serve processes at once, each on its own grid ports. A cluster is started once and kept from one schedule to the
 * next (each schedule restarts only what it killed, then must converge and pass the {@link Checker}); a cluster that
 * does not come back whole fails its schedule and is replaced by a fresh one on other ports. Each schedule's verdict
 * and figures are appended to {@code schedules.jsonl} as it finishes, with a running summary line (also in
 * {@code summary.txt}); seeds already in the JSONL are skipped, so a stopped run resumes where it was.
 *
 * <pre>
 * java ... LongRun NODE_JAR MODEL_DIR [--schedules 100] [--seconds 60] [--first-seed 1] [--nodes 3] [--leader-kills 1]
 *      [--parallel 1] [--base-port 17000] [--out target/fault-bench] [--minutes M] [--failure-detection 6000]
 *      [--short | --partition | --only KIND ...]
 * </pre>
 * Seeds run from {@code --first-seed} ({@code --seed} is the same) to {@code --first-seed + --schedules - 1}; seeds up
 * to {@code --leader-kills} are the leader kill, the others random schedules of about {@code --seconds}.
 * Cluster k of K gets grid ports from {@code --base-port + k * 1000 / K} (communication ports 1000 higher), a fresh
 * cluster the next {@code --nodes} ports in its range. {@code --short} runs the short form of mvn verify instead,
 * {@code --partition} the partition alone, {@code --only pause} (repeatable: kill-leader, kill-follower,
 * kill-stream-node, pause, restart, partition, one-way-loss, latency) short schedules of those kinds in turn.
 * {@code --failure-detection MS}: the nodes' failure detection (pauses outlast it; default 6000, as in mvn verify; more
 * keeps a loaded machine's starved JVMs from being dropped without a fault). {@code --minutes M}: no schedule starts
 * after M minutes (those running finish). Exits 1 on any violation or when
 * schedules were left unrun.
 */
public final class LongRun {

    private final Path jar;
    private final Path model;
    private final Path out;
    private final int size;
    private final int basePort;
    private final int parallel;
    private final ConcurrentLinkedQueue<Schedule> plan = new ConcurrentLinkedQueue<>();
    private final Totals totals = new Totals();
    private final List<FaultHarness> running = new CopyOnWriteArrayList<>();
    private final long startedNanos = System.nanoTime();
    private volatile int planned;
    private final int minutes;

    private LongRun(Path jar, Path model, Path out, int size, int basePort, int parallel, int minutes) {
        this.minutes = minutes;
        this.jar = jar;
        this.model = model;
        this.out = out;
        this.size = size;
        this.basePort = basePort;
        this.parallel = parallel;
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("fault run: " + e.getMessage());
            System.exit(2);
            return;
        }
        FaultHarness.failureDetectionMillis = o.failureDetectionMillis; // before any schedule is made
        LongRun run = new LongRun(o.jar, o.model, o.out, o.nodes, o.basePort, o.parallel, o.minutes);
        System.exit(run.run(o) ? 0 : 1);
    }

    private boolean run(Options o) throws Exception {
        Files.createDirectories(out);
        Set<Long> done = totals.load(out.resolve("schedules.jsonl"));
        for (Schedule schedule : o.schedules()) {
            if (!o.resumable() || !done.contains(schedule.seed())) {
                plan.add(schedule);
            }
        }
        planned = plan.size();
        System.out.printf("fault run: %d schedules to run (%d already in %s), %d cluster(s) of %d, failure detection"
                + " %d ms, pid %d%n", planned, done.size(), out.resolve("schedules.jsonl"), parallel, size,
                FaultHarness.failureDetectionMillis, ProcessHandle.current().pid());
        // kill PID stops the run: the clusters' serve processes are stopped with it.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> running.forEach(FaultHarness::close)));
        List<Thread> workers = new ArrayList<>();
        for (int k = 0; k < parallel; k++) {
            int cluster = k;
            Thread worker = new Thread(() -> work(cluster), "cluster-" + k);
            worker.start();
            workers.add(worker);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        System.out.println(totals.line(planned, elapsedSeconds()));
        return totals.violations() == 0 && plan.isEmpty();
    }

    /** Cluster {@code k}'s loop: takes the next schedule until none is left; a broken cluster is replaced. */
    private void work(int k) {
        FaultHarness harness = null;
        int generation = 0;
        int failedStarts = 0;
        Schedule schedule;
        while (!pastDeadline() && (schedule = plan.poll()) != null) {
            try {
                if (harness == null) {
                    int span = 1000 / parallel;
                    int port = basePort + k * span + (generation * size) % (span - size);
                    Path logs = out.resolve("cluster-" + k).resolve("gen-" + generation++);
                    harness = new FaultHarness(jar, model, logs, size, port);
                    running.add(harness);
                    harness.start();
                    failedStarts = 0;
                }
                FaultHarness.Result result = harness.run(schedule);
                record(k, result);
                if (!result.converged()) {
                    System.out.println("cluster " + k + " did not converge: replaced by a fresh one");
                    harness = close(harness);
                }
            } catch (Exception e) {
                // The cluster never formed, or the harness itself failed: the schedule runs again on a fresh cluster.
                System.out.println("cluster " + k + " failed (" + e + "): replaced by a fresh one; schedule "
                        + schedule.seed() + " runs again");
                plan.add(schedule);
                harness = close(harness);
                if (++failedStarts >= 3) {
                    System.out.println("cluster " + k + " failed 3 times in a row: it stops");
                    return;
                }
            }
        }
        close(harness);
    }

    private FaultHarness close(FaultHarness harness) {
        if (harness != null) {
            harness.close();
            running.remove(harness);
        }
        return null;
    }

    private synchronized void record(int cluster, FaultHarness.Result result) throws IOException {
        ObjectNode line = Workload.JSON.createObjectNode();
        line.put("seed", result.seed());
        line.put("cluster", cluster);
        line.put("schedule", result.schedule());
        line.put("started", Instant.now().minusMillis(result.wallMillis()).toString());
        line.put("wall_s", result.wallMillis() / 1000.0);
        line.put("requests", result.requests());
        line.put("completed", result.completed());
        line.put("errors", result.errors());
        line.put("refused", result.refused());
        line.put("cut_off", result.cutOff());
        line.put("converged", result.converged());
        line.put("converge_ms", result.convergeMillis());
        for (Checker.Kind kind : Checker.Kind.values()) {
            line.put(kind.name().toLowerCase(), result.violations().stream().filter(v -> Checker.kind(v) == kind).count());
        }
        line.putPOJO("violations", result.violations());
        Files.writeString(out.resolve("schedules.jsonl"), Workload.JSON.writeValueAsString(line) + "\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        totals.add(Workload.JSON.readTree(Workload.JSON.writeValueAsString(line)));
        String summary = totals.line(planned, elapsedSeconds());
        Files.writeString(out.resolve("summary.txt"), summary + "\n", StandardCharsets.UTF_8);
        System.out.println("[cluster " + cluster + "] " + result);
        System.out.println(summary);
    }

    /** {@code --minutes}: no schedule starts after that (those running finish), so a partial run still ends cleanly. */
    private boolean pastDeadline() {
        return minutes > 0 && elapsedSeconds() >= minutes * 60L;
    }

    private long elapsedSeconds() {
        return (System.nanoTime() - startedNanos) / 1_000_000_000L;
    }

    /** The figures summed over every schedule in the JSONL, earlier runs' lines included. */
    private static final class Totals {
        private int schedules;
        private int notConverged;
        private long requests;
        private long completed;
        private long errors;
        private long refused;
        private long cutOff;
        private long lost;
        private long duplicated;
        private long splitBrain;
        private long other;
        private final List<Long> convergeMillis = new ArrayList<>();

        Set<Long> load(Path jsonl) throws IOException {
            Set<Long> seeds = new HashSet<>();
            if (Files.exists(jsonl)) {
                for (String line : Files.readAllLines(jsonl, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) {
                        JsonNode json = Workload.JSON.readTree(line);
                        seeds.add(json.path("seed").asLong());
                        add(json);
                    }
                }
            }
            return seeds;
        }

        void add(JsonNode line) {
            schedules++;
            notConverged += line.path("not_converged").asLong() > 0 ? 1 : 0;
            requests += line.path("requests").asLong();
            completed += line.path("completed").asLong();
            errors += line.path("errors").asLong();
            refused += line.path("refused").asLong();
            cutOff += line.path("cut_off").asLong();
            lost += line.path("lost").asLong();
            duplicated += line.path("duplicated").asLong();
            splitBrain += line.path("split_brain").asLong();
            other += line.path("other").asLong();
            if (line.path("converged").asBoolean()) {
                convergeMillis.add(line.path("converge_ms").asLong());
            }
        }

        long violations() {
            return lost + duplicated + splitBrain + other + notConverged;
        }

        String line(int planned, long elapsedSeconds) {
            List<Long> sorted = new ArrayList<>(convergeMillis);
            Collections.sort(sorted);
            String converge = sorted.isEmpty() ? "-" : sorted.get(sorted.size() / 2) + " ms p50, "
                    + sorted.get(sorted.size() - 1) + " ms max";
            return String.format("summary: %d schedules done (%d planned this run, %d s), %d requests, %d completed,"
                    + " %d errors, %d refused, %d cut off; lost %d, duplicated %d, split-brain %d, other violations %d,"
                    + " not converged %d; converged after healing %s", schedules, planned, elapsedSeconds, requests,
                    completed, errors, refused, cutOff, lost, duplicated, splitBrain, other, notConverged, converge);
        }
    }

    private static final class Options {
        Path jar;
        Path model;
        Path out = Path.of("target", "fault-bench");
        int schedules = 100;
        int seconds = 60;
        long firstSeed = 1;
        int nodes = 3;
        int leaderKills = 1;
        int parallel = 1;
        // Below Linux's ephemeral ports (32768-60999): at 36002 an outgoing connection held a restarted node's grid
        // port once ("taken by another process"), and that cluster was lost to its schedule.
        int basePort = 17000;
        int minutes;
        long failureDetectionMillis = FaultHarness.FAILURE_DETECTION_MILLIS;
        boolean shortForm;
        boolean partitionOnly;
        final List<Schedule.Kind> only = new ArrayList<>();

        static Options parse(String[] args) {
            if (args.length < 2) {
                throw new IllegalArgumentException("usage: LongRun NODE_JAR MODEL_DIR [--schedules 100] [--seconds 60]"
                        + " [--first-seed 1] [--nodes 3] [--leader-kills 1] [--parallel 1] [--base-port 17000]"
                        + " [--out DIR] [--minutes M] [--failure-detection MS] [--short | --partition | --only KIND ...]");
            }
            Options o = new Options();
            o.jar = Path.of(args[0]);
            o.model = Path.of(args[1]);
            for (int i = 2; i < args.length; i += 2) {
                if (args[i].equals("--short") || args[i].equals("--partition")) { // instead of random schedules
                    o.shortForm |= args[i].equals("--short");
                    o.partitionOnly |= args[i].equals("--partition");
                    i--;
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String value = args[i + 1];
                switch (args[i]) {
                    case "--schedules" -> o.schedules = positive(args[i], value);
                    case "--seconds" -> o.seconds = positive(args[i], value);
                    case "--first-seed", "--seed" -> o.firstSeed = positive(args[i], value);
                    case "--nodes" -> o.nodes = positive(args[i], value);
                    case "--leader-kills" -> o.leaderKills = positive(args[i], value, 0);
                    case "--parallel" -> o.parallel = positive(args[i], value);
                    case "--base-port" -> o.basePort = positive(args[i], value);
                    case "--out" -> o.out = Path.of(value);
                    case "--minutes" -> o.minutes = positive(args[i], value);
                    case "--failure-detection" -> o.failureDetectionMillis = positive(args[i], value, 1000);
                    case "--only" -> {
                        try {
                            o.only.add(Schedule.Kind.valueOf(value.toUpperCase().replace('-', '_')));
                        } catch (IllegalArgumentException e) {
                            throw new IllegalArgumentException("--only " + value + ": not a fault kind (kill-leader,"
                                    + " kill-follower, kill-stream-node, pause, restart, partition, one-way-loss, latency)");
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (o.nodes < 3) {
                throw new IllegalArgumentException("--nodes " + o.nodes + ": at least 3 (a majority must survive a fault)");
            }
            int span = 1000 / o.parallel;
            if (span < 2 * o.nodes || o.basePort + 2000 > 65535) {
                throw new IllegalArgumentException("--base-port " + o.basePort + " with --parallel " + o.parallel
                        + ": each cluster needs ports of its own in base..base+999 and their +1000 under 65536");
            }
            return o;
        }

        /** The schedules in seed order. */
        List<Schedule> schedules() {
            List<Schedule> list = new ArrayList<>();
            if (!only.isEmpty()) {
                for (int s = 0; s < schedules; s++) {
                    list.add(Schedule.brief(firstSeed + s, only.get(s % only.size())));
                }
            } else if (shortForm) {
                list.addAll(Schedule.shortForm());
            } else if (partitionOnly) {
                list.add(Schedule.partition());
            } else {
                for (long seed = firstSeed; seed < firstSeed + schedules; seed++) {
                    list.add(Schedule.ofSeed(seed, leaderKills, seconds));
                }
            }
            return list;
        }

        private static int positive(String flag, String value) {
            return positive(flag, value, 1);
        }

        private static int positive(String flag, String value, int least) {
            try {
                int n = Integer.parseInt(value);
                if (n >= least) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw new IllegalArgumentException(flag + " " + value + ": expected a whole number of at least " + least);
        }

        /** Random schedules are numbered by their seeds: those already recorded are not run again. */
        boolean resumable() {
            return only.isEmpty() && !shortForm && !partitionOnly;
        }
    }
}
