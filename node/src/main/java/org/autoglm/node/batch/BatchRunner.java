package org.autoglm.node.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiConsumer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.Cluster;
import java.util.List;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.BatchStatus;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.plugins.Plugins;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's share of the cluster's batches: every second it looks for batches that are not finished and have no
 * living runner (new ones, or those whose node died) and takes a few over, one {@link BatchRun} each. The runner
 * only coordinates: it opens chunks of lines that every node's {@link BatchPuller} claims while its engine has room.
 */
public final class BatchRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BatchRunner.class);

    /** Batches one node coordinates at once; more wait for a node with room. */
    static final int MAX_RUNS = 4;

    private final Cluster cluster;
    private final ServedModel model;
    private final BatchPuller lines;
    private final ScheduledExecutorService poll;
    private final ExecutorService runs;
    private final Map<String, BatchRun> running = new ConcurrentHashMap<>();
    private final BiConsumer<String, ObjectNode> events;
    private final java.util.function.Supplier<InferenceService> engine;
    private final LastingFailure pollFailures = new LastingFailure();

    /**
     * @param engine  this node's own engine now (the lines it runs go straight to it, never through the queue)
     * @param plugins the node's plugins, applied to each line as to a request to its endpoint
     * @param events  where {@code batch_progress} and {@code request_failed_over} events go (the cluster's event
     *                stream)
     */
    public BatchRunner(Cluster cluster, ServedModel model, java.util.function.Supplier<InferenceService> engine,
                       Plugins plugins, BiConsumer<String, ObjectNode> events) {
        this.cluster = cluster;
        this.events = events;
        this.engine = engine;
        this.model = model;
        this.lines = new BatchPuller(cluster, model, engine, plugins, events);
        String name = cluster.grid().name();
        this.poll = Daemons.scheduler("autoglm-batches-" + name);
        this.runs = Daemons.pool("autoglm-batch-run-" + name, MAX_RUNS);
        poll.scheduleWithFixedDelay(this::claim, 200, 1000, TimeUnit.MILLISECONDS);
    }

    private void claim() {
        try {
            if (!cluster.grid().hasQuorum()) {
                return;
            }
            List<BatchJob> jobs = cluster.batches().list();
            lines.batchesInProgress(jobs.stream().anyMatch(job -> job.status() == BatchStatus.IN_PROGRESS));
            for (BatchJob job : jobs) {
                if (running.size() >= MAX_RUNS) {
                    break;
                }
                UUID self = cluster.grid().localId();
                // A batch whose runner is this node but not running here: its run stopped and could not say so.
                boolean abandoned = self.equals(job.runner());
                if (job.status().terminal() || running.containsKey(job.id())
                        || (job.runner() != null && !abandoned && cluster.grid().isAlive(job.runner()))) {
                    continue;
                }
                BatchJob mine = cluster.batches().claim(job.id(), self, cluster.grid()::isAlive);
                if (mine == null) {
                    continue;
                }
                if (abandoned) {
                    log.warn("batch {}: this node was its runner but no longer ran it; running it again", job.id());
                } else {
                    log.info("batch {} runs on node '{}'{}", job.id(), cluster.grid().name(), job.runner() == null ? ""
                            : ", taken over from node " + job.runner() + " that is gone");
                }
                BatchRun run = new BatchRun(cluster, model, mine.id(), events, this::blockSize);
                running.put(job.id(), run);
                runs.execute(() -> {
                    try {
                        run.run();
                    } finally {
                        running.remove(job.id());
                    }
                });
            }
            pollFailures.succeeded();
        } catch (RuntimeException e) {
            long now = System.currentTimeMillis();
            if (pollFailures.failedAndDue(now)) {
                log.warn("batches on {}: every look at them failed for {} s (no batch is taken over meanwhile), the"
                        + " last with {}", cluster.grid().name(), pollFailures.seconds(now), BatchPuller.brief(e));
            } else {
                log.debug("batch poll failed: {}", e.toString());
            }
        }
    }

    /** Tokens per KV block of this node's engine (every node of a cluster uses the same); 16 while none is loaded. */
    private int blockSize() {
        InferenceService local = engine.get();
        return local == null ? 16 : local.options().blockSize();
    }

    /** Batches this node coordinates now. */
    public int active() {
        return running.size();
    }

    @Override
    public void close() {
        lines.close();
        poll.shutdownNow();
        running.values().forEach(BatchRun::stop);
        runs.shutdownNow();
    }
}
