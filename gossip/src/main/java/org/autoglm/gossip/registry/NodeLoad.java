package org.autoglm.gossip.registry;

import java.io.Serializable;

/** A node's load at one heartbeat. A plain class: Ignite's binary marshaller cannot write records. */
public final class NodeLoad implements Serializable {

    private static final long serialVersionUID = 1L;
    /** An idle node with no history. */
    public static final NodeLoad IDLE = new NodeLoad(0, 0, 0, 0, 0, 0);

    private final int waiting;
    private final int running;
    private final double kvUsage;
    private final double tokensPerSecond;
    private final double p50StepMillis;
    private final long queuedTokens;

    /**
     * @param waiting         requests admitted but not yet running
     * @param running         requests in the running batch
     * @param kvUsage         fraction of KV blocks in use, 0..1
     * @param tokensPerSecond recent generation throughput (all sequences)
     * @param p50StepMillis   median engine step time
     * @param queuedTokens    tokens still to compute for everything the node holds (prompts + remaining max tokens)
     */
    public NodeLoad(int waiting, int running, double kvUsage, double tokensPerSecond, double p50StepMillis,
                    long queuedTokens) {
        this.waiting = waiting;
        this.running = running;
        this.kvUsage = kvUsage;
        this.tokensPerSecond = tokensPerSecond;
        this.p50StepMillis = p50StepMillis;
        this.queuedTokens = queuedTokens;
    }

    public int waiting() { return waiting; }
    public int running() { return running; }
    public double kvUsage() { return kvUsage; }
    public double tokensPerSecond() { return tokensPerSecond; }
    public double p50StepMillis() { return p50StepMillis; }
    public long queuedTokens() { return queuedTokens; }

    @Override
    public String toString() {
        return "load(waiting=" + waiting + ", running=" + running + ", kv=" + kvUsage + ", tok/s=" + tokensPerSecond
                + ", queuedTokens=" + queuedTokens + ")";
    }
}
