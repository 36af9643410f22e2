package org.autoglm.node.faults;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.autoglm.node.cluster.ServeProcess;

/**
 * Jepsen-style fault injection over the real cluster: {@code size} serve processes of the packaged jar on loopback,
 * every discovery and communication connection between two nodes through the {@link Link} of that ordered pair (so
 * links can be cut, blackholed one way, or slowed), a seeded {@link Workload}, and {@link Schedule}s of faults: kill -9 of the leader,
 * of a follower, of a node a stream is attached to, SIGSTOP/SIGCONT longer than failure detection, restarts,
 * partitions into a minority and a majority, one-way loss and added latency. Each schedule ends healed, and the
 * {@link Checker} judges its history. The cluster is started once and reused by the schedules that follow.
 */
public final class FaultHarness implements AutoCloseable {

    /**
     * What one schedule did and what was wrong with it. {@code converged} false: the cluster did not come back whole
     * within the harness's limits (a node never ready again, no leader, no convergence in 120 s); the schedule is a
     * failure and the harness must not be reused.
     */
    public record Result(String schedule, long seed, java.time.LocalTime startedAt, long wallMillis, int requests,
                         int completed, int errors, int refused, int cutOff, long convergeMillis, boolean converged,
                         List<String> violations) {
        @Override
        public String toString() {
            return schedule + " (times in ms after " + startedAt + "; " + wallMillis / 1000 + " s): " + requests
                    + " requests, " + completed + " completed, " + errors + " errors, " + refused + " refused, " + cutOff
                    + " cut off; " + (converged ? "converged in " + convergeMillis + " ms; " : "DID NOT CONVERGE; ")
                    + (violations.isEmpty() ? "no violations" : violations.size() + " VIOLATIONS:\n  "
                    + String.join("\n  ", violations));
        }
    }

    /** The cluster did not come back whole within a limit: a failed schedule, and a harness not to be reused. */
    static final class NotConverged extends IllegalStateException {
        NotConverged(String message) {
            super(message);
        }
    }

    private static final long CONVERGE_LIMIT_MILLIS = 10_000;
    /**
     * The nodes' --grid-failure-detection; pauses in the schedules outlast it. At 4 s a follower of a 2-core machine at
     * load 55 was itself dropped by the grid (its threads starved past failure detection) when the leader was killed.
     */
    static final long FAILURE_DETECTION_MILLIS = 6_000;
    /**
     * The failure detection of the nodes started from now on and of the schedules made from now on (pauses outlast it):
     * {@link #FAILURE_DETECTION_MILLIS} unless a long run on a loaded machine sets more ({@code LongRun
     * --failure-detection}).
     */
    static volatile long failureDetectionMillis = FAILURE_DETECTION_MILLIS;

    private final int size;
    private final List<ServeProcess> nodes = new ArrayList<>();
    /** links[i][j]: node i's discovery and communication connections to node j. */
    private final Link[][] links;
    private final Set<Integer> paused = new HashSet<>();
    /** The greedy answer of each (prompt, length), measured once before the first fault. */
    private Map<String, String> references;

    /**
     * @param basePort the nodes' grid ports are basePort, basePort + 1, ... (their communication ports 1000 higher);
     *                 0 picks free ports
     */
    public FaultHarness(Path jar, Path model, Path logDir, int size, int basePort) throws IOException {
        this.size = size;
        int[] grid = new int[size];
        for (int i = 0; i < size; i++) {
            grid[i] = basePort > 0 ? basePort + i : freeGridPort();
        }
        StringBuilder peers = new StringBuilder();
        for (int i = 0; i < size; i++) {
            peers.append(i == 0 ? "" : ",").append("127.0.0.1:").append(grid[i]);
        }
        links = new Link[size][size];
        for (int i = 0; i < size; i++) {
            List<String> extra = new ArrayList<>(List.of("--scheduling-policy", "priority",
                    "--grid-failure-detection", Long.toString(failureDetectionMillis)));
            for (int j = 0; j < size; j++) {
                if (i != j) {
                    links[i][j] = new Link(grid[j]);
                    extra.addAll(links[i][j].routes(grid[j]));
                }
            }
            nodes.add(new ServeProcess("f" + i, jar, model, grid[i], peers.toString(), size, logDir,
                    extra.toArray(String[]::new)));
        }
    }

    /**
     * Starts the nodes together (their start-ups share the machine's cores; each node waits for its peers) and waits for
     * a healthy cluster.
     */
    public void start() throws Exception {
        for (ServeProcess node : nodes) {
            node.start();
        }
        for (ServeProcess node : nodes) {
            awaitHealth(node);
        }
        waitUntil(this::converged, 300_000, "the cluster never became healthy");
    }

    /**
     * Runs one schedule against the running cluster, heals it, and checks the history. A cluster that does not come
     * back whole gives a result with {@code converged} false (the harness must then be closed, not reused).
     */
    public Result run(Schedule schedule) throws Exception {
        History history = new History();
        Workload workload = new Workload(history, size, i -> nodes.get(i).uri("/"));
        if (references == null) {
            workload.measureReferences();
            references = Map.copyOf(workload.references);
        }
        ExecutorService clients = Executors.newCachedThreadPool();
        Thread poller = new Thread(() -> pollLeaders(history), "leader-poller");
        poller.setDaemon(true);
        poller.start();
        long start = System.nanoTime();
        try {
            if (schedule.leaderKillBurst()) {
                int leader = leader();
                for (int k = 0; k < 30; k++) {
                    int follower = (leader + 1 + k % (size - 1)) % size;
                    Random random = new Random(k);
                    clients.execute(() -> workload.completion(random, follower, "[10,11,12,13]", 40, false));
                }
            } else {
                long deadline = start + TimeUnit.MILLISECONDS.toNanos(schedule.workloadMillis());
                for (int c = 0; c < schedule.clients(); c++) {
                    long seed = schedule.seed() * 1000 + c;
                    clients.execute(() -> workload.client(seed, deadline));
                }
            }
            for (Schedule.Step step : schedule.steps()) {
                sleepUntil(start, step.atMillis());
                inject(step, history, new Random(schedule.seed() ^ step.atMillis()));
            }
            clients.shutdown();
            if (!clients.awaitTermination(150, TimeUnit.SECONDS)) {
                clients.shutdownNow();
            }
            long healed = history.now();
            long converge = waitConverged();
            history.faults.replaceAll(f -> f.endedAt() < 0 ? new History.Fault(f.description(), f.cutOff(),
                    f.startedAt(), history.now()) : f);
            Checker checker = new Checker().check(history, references, i -> readSession(history.sessions.get(i).id));
            checker.violations.addAll(history.partitionFindings);
            if (converge > CONVERGE_LIMIT_MILLIS) {
                checker.violations.add("converged " + converge + " ms after the faults healed (limit "
                        + CONVERGE_LIMIT_MILLIS + " ms); healed at " + healed + " ms");
            }
            return result(schedule, history, start, converge, true, checker.violations);
        } catch (NotConverged e) {
            dumpUnhealthy();
            return result(schedule, history, start, -1, false,
                    List.of(Checker.NOT_CONVERGED + e.getMessage() + " (at " + history.now() + " ms)"));
        } finally {
            poller.interrupt();
            clients.shutdownNow();
        }
    }

    private static Result result(Schedule schedule, History history, long startNanos, long converge, boolean converged,
                                 List<String> violations) {
        return new Result(schedule.toString(), schedule.seed(), history.startedAt,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), history.requests.size(),
                history.ended(History.Outcome.COMPLETED).size(), history.ended(History.Outcome.ERROR).size(),
                history.ended(History.Outcome.REFUSED).size(), history.ended(History.Outcome.CUT_OFF).size(), converge,
                converged, List.copyOf(violations));
    }

    /** Strikes one fault, waits its length, heals it; a node killed, paused or cut off is recorded as such. */
    private void inject(Schedule.Step step, History history, Random random) throws Exception {
        long started = history.now();
        List<Integer> cutOff = new ArrayList<>();
        String what;
        switch (step.kind()) {
            case KILL_LEADER, KILL_FOLLOWER, KILL_STREAM_NODE, RESTART -> {
                int victim = victim(step.kind(), history, random);
                cutOff.add(victim);
                what = step.kind() + " f" + victim;
                history.faults.add(new History.Fault(what, cutOff, started, -1));
                if (step.kind() == Schedule.Kind.RESTART) {
                    nodes.get(victim).stop();
                } else {
                    nodes.get(victim).kill();
                }
                Thread.sleep(step.forMillis());
                nodes.get(victim).start();
                int v = victim;
                waitUntil(() -> answers(nodes.get(v), "/ready"), 300_000, "f" + victim + " did not come back");
            }
            case PAUSE -> { // the leader, half the time: a zombie leader must step down when it wakes
                int victim = random.nextBoolean() ? leader() : random.nextInt(size);
                cutOff.add(victim);
                what = "SIGSTOP f" + victim;
                history.faults.add(new History.Fault(what, cutOff, started, -1));
                nodes.get(victim).pause();
                paused.add(victim);
                Thread.sleep(step.forMillis());
                nodes.get(victim).resume();
                paused.remove(victim);
            }
            case PARTITION, ONE_WAY_LOSS, LATENCY -> {
                int a = random.nextInt(size);
                int b = (a + 1 + random.nextInt(size - 1)) % size;
                if (step.kind() == Schedule.Kind.PARTITION) { // a alone on the minority side
                    cutOff.add(a);
                    for (int j = 0; j < size; j++) {
                        if (j != a) {
                            links[a][j].cut();
                            links[j][a].cut();
                        }
                    }
                    what = "partition {f" + a + "} | rest";
                } else if (step.kind() == Schedule.Kind.ONE_WAY_LOSS) {
                    cutOff.addAll(List.of(a, b));
                    links[a][b].loseOutbound();
                    links[b][a].loseInbound();
                    what = "one-way loss f" + a + " -> f" + b;
                } else {
                    for (int j = 0; j < size; j++) {
                        if (j != a) {
                            links[a][j].delay(50 + random.nextInt(150));
                            links[j][a].delay(50 + random.nextInt(150));
                        }
                    }
                    what = "latency on f" + a;
                }
                history.faults.add(new History.Fault(what, cutOff, started, -1));
                if (step.kind() == Schedule.Kind.PARTITION && step.forMillis() > failureDetectionMillis) {
                    observePartition(a, step.forMillis(), history);
                } else {
                    Thread.sleep(step.forMillis());
                }
                healLinks();
            }
            default -> throw new IllegalStateException(step.kind().toString());
        }
        // The node stays excused until the cluster is whole again: it may still be rejoining.
        waitConverged();
        history.faults.replaceAll(f -> f.startedAt() == started ? new History.Fault(f.description(), f.cutOff(),
                started, history.now()) : f);
    }

    /**
     * A partition that outlasts failure detection, watched from both sides until it heals: the minority node must stop
     * serving ({@code /ready} not 200: it sees no majority) and the majority must go on (a leader among its nodes,
     * {@code /ready} 200 on each) once the grid has dropped the minority. What does not happen is a violation.
     */
    private void observePartition(int minority, long millis, History history) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        boolean minorityStopped = false;
        boolean majorityServed = false;
        while (System.nanoTime() < end) {
            minorityStopped |= nodes.get(minority).status("/ready") != 200;
            majorityServed |= majorityServes(minority);
            Thread.sleep(250);
        }
        if (!minorityStopped) {
            history.partitionFindings.add("f" + minority + " kept answering /ready 200 while cut off from the majority");
        }
        if (!majorityServed) {
            history.partitionFindings.add("the majority side never had a leader of its own with every node ready"
                    + " while f" + minority + " was cut off");
        }
    }

    /** Every node but {@code minority} is ready and names a leader other than it. */
    private boolean majorityServes(int minority) {
        for (int i = 0; i < size; i++) {
            if (i == minority) {
                continue;
            }
            try {
                if (nodes.get(i).status("/ready") != 200 || nodes.get(i).status("/cluster/leader") != 200
                        || Workload.JSON.readTree(nodes.get(i).get("/cluster/leader")).path("node").asText()
                        .equals("f" + minority)) {
                    return false;
                }
            } catch (Exception e) {
                return false;
            }
        }
        return true;
    }

    private int victim(Schedule.Kind kind, History history, Random random) throws Exception {
        int leader = leader();
        return switch (kind) {
            case KILL_LEADER -> leader;
            case KILL_FOLLOWER -> (leader + 1 + random.nextInt(size - 1)) % size;
            case KILL_STREAM_NODE -> history.requests.stream()
                    .filter(r -> r.kind.equals("stream") && r.endedAt < 0 && !r.deltas.isEmpty())
                    .map(r -> r.node).findFirst().orElse(random.nextInt(size));
            default -> random.nextInt(size);
        };
    }

    private void healLinks() {
        for (Link[] row : links) {
            for (Link link : row) {
                if (link != null) {
                    link.heal();
                }
            }
        }
    }

    /** Milliseconds until one leader and every node healthy, after making sure every process runs again. */
    private long waitConverged() throws Exception {
        healLinks();
        for (int i : new ArrayList<>(paused)) {
            nodes.get(i).resume();
            paused.remove(i);
        }
        for (ServeProcess node : nodes) {
            if (!node.alive()) {
                node.start();
            }
        }
        for (ServeProcess node : nodes) {
            awaitHealth(node);
        }
        long from = System.nanoTime();
        waitUntil(this::converged, 120_000, "the cluster did not converge");
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - from);
    }

    /**
     * Before a cluster that did not converge is killed: the threads of each node that is not healthy, beside its log
     * (a hung stop or rejoin shows where it waits).
     */
    private void dumpUnhealthy() {
        for (ServeProcess node : nodes) {
            boolean healthy;
            try {
                healthy = node.status("/cluster/health") == 200 && node.status("/ready") == 200;
            } catch (Exception e) {
                healthy = false;
            }
            if (!healthy) {
                Path dump = node.threadDump();
                System.err.println(node.name + " is not healthy: " + (dump != null ? "threads in " + dump
                        : "no thread dump (process gone or jcmd failed)"));
            }
        }
    }

    private boolean converged() {
        String leader = null;
        for (ServeProcess node : nodes) {
            try {
                if (node.status("/cluster/health") != 200 || node.status("/ready") != 200) {
                    return false;
                }
                String name = Workload.JSON.readTree(node.get("/cluster/leader")).path("node").asText();
                if (leader != null && !leader.equals(name)) {
                    return false;
                }
                leader = name;
            } catch (Exception e) {
                return false;
            }
        }
        return true;
    }

    private int leader() throws Exception {
        for (int attempt = 0; attempt < 100; attempt++) {
            for (ServeProcess node : nodes) {
                if (node.alive() && node.status("/cluster/leader") == 200) {
                    String name = Workload.JSON.readTree(node.get("/cluster/leader")).path("node").asText();
                    return Integer.parseInt(name.substring(1));
                }
            }
            Thread.sleep(200);
        }
        throw new NotConverged("no node named a leader within 20 s");
    }

    private void pollLeaders(History history) {
        while (!Thread.currentThread().isInterrupted()) {
            for (int i = 0; i < size; i++) {
                ServeProcess node = nodes.get(i);
                if (paused.contains(i) || !node.alive()) {
                    continue;
                }
                try {
                    JsonNode leader = Workload.JSON.readTree(node.get("/cluster/leader"));
                    if (leader.has("term")) {
                        history.leaderSeen(leader.get("term").asLong(), leader.path("node").asText(),
                                leader.path("self").asBoolean(), node.name);
                    }
                } catch (Exception e) {
                    // down or busy: nothing to record
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private String readSession(String id) {
        for (ServeProcess node : nodes) {
            try {
                if (node.status("/v1/sessions/" + id) == 200) {
                    return node.get("/v1/sessions/" + id);
                }
            } catch (Exception e) {
                // try the next node
            }
        }
        return null;
    }

    /** The nodes' log files, for a failing schedule's story. */
    public List<Path> logs() {
        return nodes.stream().map(n -> n.log).toList();
    }

    @Override
    public void close() {
        for (int i : paused) {
            nodes.get(i).resume();
        }
        // kill -9: every schedule has been judged, nothing is read from the nodes any more, and a graceful stop of
        // three nodes (leaving the grid, stopping the engine) took seconds of every build.
        nodes.forEach(ServeProcess::kill);
        for (Link[] row : links) {
            for (Link link : row) {
                if (link != null) {
                    link.close();
                }
            }
        }
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private void awaitHealth(ServeProcess node) throws Exception {
        try {
            waitUntil(() -> answers(node, "/health"), 300_000, node.name + " never answered /health");
        } catch (NotConverged e) {
            throw node.alive() ? new NotConverged(e.getMessage() + "; " + node.logTail(30)) : e;
        }
    }

    /**
     * {@code path} answers 200 on {@code node}. Every node should be running while the harness waits (each kill is
     * followed by a start before any wait), and a node that waits for its peers never answers if one of them died: so a
     * process of any node that exited ends the wait at once, with its exit code and log.
     */
    private boolean answers(ServeProcess node, String path) {
        for (ServeProcess any : nodes) {
            String exited = any.exitReport();
            if (exited != null) {
                throw new NotConverged(exited);
            }
        }
        return node.status(path) == 200;
    }

    private static void waitUntil(Check check, long millis, String failure) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new NotConverged(failure + " within " + millis / 1000 + " s");
            }
            Thread.sleep(200);
        }
    }

    private static void sleepUntil(long startNanos, long atMillis) throws InterruptedException {
        long left = atMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        if (left > 0) {
            Thread.sleep(left);
        }
    }

    /** A grid port whose communication port (+1000) is free too. */
    private static int freeGridPort() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port = ServeProcess.freePort();
            if (port + 1000 < 65536) {
                try (ServerSocket probe = new ServerSocket(port + 1000)) {
                    return port;
                } catch (IOException taken) {
                    // try another
                }
            }
        }
        throw new IOException("no free grid port pair");
    }
}
