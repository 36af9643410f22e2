package org.autoglm.gossip.control;

import java.io.Serializable;
import java.util.Locale;

/** What one target node has done with a command: written by that node only. */
public final class NodeAck implements Serializable {

    private static final long serialVersionUID = 1L;

    /** A node's progress on a command. {@code PENDING}, {@code UNREACHABLE} and {@code EXPIRED} are never written: they are read from the absence of an ack. */
    public enum State {
        PENDING, ACKED, DONE, FAILED, UNREACHABLE, EXPIRED;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        public boolean terminal() {
            return this == DONE || this == FAILED || this == EXPIRED;
        }
    }

    private final String commandId;
    private final String node;
    private final State state;
    private final String result;
    private final String reason;
    private final long ackedAtMillis;
    private final long updatedAtMillis;

    /**
     * @param result JSON text of the op's result (done), or null
     * @param reason why it failed (failed), or null
     */
    public NodeAck(String commandId, String node, State state, String result, String reason, long ackedAtMillis,
                   long updatedAtMillis) {
        this.commandId = commandId;
        this.node = node;
        this.state = state;
        this.result = result;
        this.reason = reason;
        this.ackedAtMillis = ackedAtMillis;
        this.updatedAtMillis = updatedAtMillis;
    }

    public String commandId() { return commandId; }
    public String node() { return node; }
    public State state() { return state; }
    public String result() { return result; }
    public String reason() { return reason; }
    public long ackedAtMillis() { return ackedAtMillis; }
    public long updatedAtMillis() { return updatedAtMillis; }

    static String key(String commandId, String node) {
        return commandId + "/" + node;
    }
}
