package org.autoglm.node.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.autoglm.gossip.control.AuditChain;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandRecord;
import org.autoglm.gossip.control.EventRing;
import org.autoglm.gossip.grid.GridUnavailable;
import org.autoglm.node.security.Caller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the control plane reports what happened: the cluster audit chain (who did what, and each node's result) and
 * the event stream. A failure to report is logged, never thrown: it must not undo the action it reports.
 */
public class ControlEvents {

    private static final Logger log = LoggerFactory.getLogger(ControlEvents.class);

    private final EventRing events;
    private final AuditChain audit;
    private final Map<String, AtomicLong> acks = new ConcurrentHashMap<>();
    /** Tries of one event whose transaction a topology change failed (pauses of 0.1, 0.2, 0.4, 0.8 s between). */
    private static final int APPEND_ATTEMPTS = 5;
    /** Events are written in order on a thread of their own: callers may be on grid threads, and never wait. */
    private final java.util.concurrent.ExecutorService writer;

    ControlEvents(EventRing events, AuditChain audit, String node) {
        this.events = events;
        this.audit = audit;
        this.writer = org.autoglm.gossip.grid.Daemons.pool("autoglm-events-" + node, 1);
    }

    /** Appends an event of {@code type} with {@code data} (a JSON object) to the cluster's stream. */
    public void emit(String type, ObjectNode data) {
        String json = data.toString();
        try {
            writer.execute(() -> append(type, json));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("event {} after close: dropped", type);
        }
    }

    /**
     * On the writer thread. A node leaving the grid under the transaction (the primary of the counter's lock, often the
     * old leader) fails it with a topology exception: tried again on the new topology, so that the event, such as
     * the new leader's {@code leader_elected}, is not lost.
     */
    private void append(String type, String json) {
        for (int attempt = 1; ; attempt++) {
            try {
                events.append(type, json);
                return;
            } catch (RuntimeException e) {
                if (attempt >= APPEND_ATTEMPTS || !GridUnavailable.topologyChanged(e)) {
                    log.warn("event {} not recorded: {}", type, e.toString());
                    return;
                }
                try {
                    Thread.sleep(100L << (attempt - 1));
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    void close() {
        writer.shutdown();
    }

    /** The shared state {@link #report} keeps under {@code key}, or null when none was reported yet. */
    String reported(String key) {
        return events.state(key);
    }

    /**
     * Reports the changes from the shared state {@code expected} to {@code next} under {@code key} (the membership
     * the leaders reported): the events are stored together with {@code next}, on the caller's thread, or not at all
     * when another node moved the state first. Answers whether they were stored.
     */
    boolean report(String key, String expected, String next, java.util.List<EventRing.Pending> changes) {
        return events.appendIf(key, expected, next, changes);
    }

    /** Appends to the cluster audit chain. */
    public void audit(String actor, String action, String target, String detail) {
        try {
            audit.append(actor, action, target, detail);
        } catch (RuntimeException e) {
            log.warn("audit entry {} by {} not recorded: {}", action, actor, e.toString());
        }
    }

    void commandSent(CommandRecord c, Caller caller) {
        audit(caller.subject(), "command " + c.op(), String.join(",", c.targetNodes()), c.body());
        emit("command_sent", data(c).put("issued_by", caller.subject()).put("key_id", c.keyId()));
    }

    void acked(CommandRecord c, String node) {
        count("acked");
        emit("command_acked", data(c).put("node", node));
    }

    void finished(CommandRecord c, String node, boolean done, String detail) {
        count(done ? "done" : "failed");
        audit(node, "command " + c.op() + (done ? " done" : " failed"), c.id(), detail);
        emit(done ? "command_done" : "command_failed", data(c).put("node", node));
    }

    void keyAdded(CommandKey key, Caller caller) {
        audit(caller.subject(), "command-key add", key.keyId(), "roles " + key.roles() + " groups " + key.groups());
    }

    /** Acks this node wrote, by result (acked, done, failed): {@code autoglm:command_acks_total}. */
    Map<String, AtomicLong> ackCounts() {
        return acks;
    }

    private void count(String result) {
        acks.computeIfAbsent(result, k -> new AtomicLong()).incrementAndGet();
    }

    private static ObjectNode data(CommandRecord c) {
        ObjectNode n = CommandRequest.JSON.createObjectNode().put("command_id", c.id()).put("op", c.op());
        c.targetNodes().forEach(n.putArray("targets")::add);
        return n;
    }
}
