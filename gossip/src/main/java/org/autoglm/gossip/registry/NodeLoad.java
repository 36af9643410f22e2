package org.autoglm.gossip.registry;

import java.io.Serializable;

/** A node's load at one heartbeat. A plain class: Ignite's binary marshaller cannot write records. */
public final class NodeLoad implements Serializable {

    private static final long serialVersionUID = 1L;
    /** An idle node with no history. */
    public static final NodeLoad IDLE = new NodeLoad(0, 0, 0, 0, 0, 0);
    /** {@link #freeSlots()} of a node that does not say (it is never judged full). */
    public static final int UNBOUNDED = Integer.MAX_VALUE;

    private final int waiting;
    private final int running;
    private final double kvUsage;
    private final double tokensPerSecond;
    private final double p50StepMillis;
    private final long queuedTokens;
    private final int freeSlots;
    private final org.autoglm.gossip.placement.PrefixSummary prefix;
    private final long stepAgeMillis;
    private final boolean anomalous;

    /**
     * @param waiting         requests admitted but not yet running
     * @param running         requests in the running batch
     * @param kvUsage         fraction of KV blocks in use, 0..1
     * @param tokensPerSecond recent generation throughput (all sequences)
     * @param p50StepMillis   median engine step time
     * @param queuedTokens    tokens still to compute for everything the node holds (prompts + remaining max tokens)
     * @param freeSlots       requests it can still admit before refusing new ones as overloaded
     * @param stepAgeMillis   while it holds work: time since its engine last finished a step (or since the work
     *                        arrived, if later), on its own clock; 0 when idle
     */
    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens, int freeSlots, long stepAgeMillis) {
        this(waiting, running, kvUsage, tokensPerSecond, p50StepMillis, queuedTokens, freeSlots, stepAgeMillis,
                (org.autoglm.gossip.placement.PrefixSummary) null);
    }

    /** @param anomalous the node's own anomaly detector finds it beyond its baselines: placement weighs it down */
    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens, int freeSlots, long stepAgeMillis, boolean anomalous) {
        this(waiting, running, kvUsage, tokensPerSecond, p50StepMillis, queuedTokens, freeSlots, stepAgeMillis, null,
                anomalous);
    }

    /** @param prefix what the node's prefix cache holds, or null when it does not say */
    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens, int freeSlots, long stepAgeMillis,
                    org.autoglm.gossip.placement.PrefixSummary prefix) {
        this(waiting, running, kvUsage, tokensPerSecond, p50StepMillis, queuedTokens, freeSlots, stepAgeMillis, prefix,
                false);
    }

    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens, int freeSlots, long stepAgeMillis,
                    org.autoglm.gossip.placement.PrefixSummary prefix, boolean anomalous) {
        this.prefix = prefix;
        this.anomalous = anomalous;
        this.waiting = waiting;
        this.running = running;
        this.kvUsage = kvUsage;
        this.tokensPerSecond = tokensPerSecond;
        this.p50StepMillis = p50StepMillis;
        this.queuedTokens = queuedTokens;
        this.freeSlots = Math.max(0, freeSlots);
        this.stepAgeMillis = Math.max(0, stepAgeMillis);
    }

    /** A load with an admission limit and an engine that is not (known to be) stuck. */
    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens, int freeSlots) {
        this(waiting, running, kvUsage, tokensPerSecond, p50StepMillis, queuedTokens, freeSlots, 0);
    }

    /** A load without an admission limit ({@link #UNBOUNDED} free slots). */
    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens) {
        this(waiting, running, kvUsage, tokensPerSecond, p50StepMillis, queuedTokens, UNBOUNDED);
    }

    public int waiting() { return waiting; }
    public int running() { return running; }
    public double kvUsage() { return kvUsage; }
    public double tokensPerSecond() { return tokensPerSecond; }
    public double p50StepMillis() { return p50StepMillis; }
    public long queuedTokens() { return queuedTokens; }
    public int freeSlots() { return freeSlots; }
    /** The node's prefix cache summary, or null. */
    public org.autoglm.gossip.placement.PrefixSummary prefix() { return prefix; }
    /** While it holds work, how long its engine has gone without finishing a step (0 when idle). */
    public long stepAgeMillis() { return stepAgeMillis; }
    public boolean anomalous() { return anomalous; }

    /**
     * True when the node holds work and its engine has made no step for many times its usual step time (and never
     * less than {@code floorMillis}): alive in the grid, but not making progress.
     */
    public boolean stalled(long floorMillis) {
        return waiting + running > 0 && stepAgeMillis > Math.max(floorMillis, 20 * p50StepMillis);
    }

    @Override
    public String toString() {
        return "load(waiting=" + waiting + ", running=" + running + ", kv=" + kvUsage + ", tok/s=" + tokensPerSecond
                + ", queuedTokens=" + queuedTokens
                + (freeSlots == UNBOUNDED ? "" : ", freeSlots=" + freeSlots) + ")";
    }
}
