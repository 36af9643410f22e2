package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandLog;
import org.autoglm.gossip.control.CommandRecord;
import org.autoglm.gossip.control.NodeAck;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.registry.NodeHealth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's side of every command: it acks a command addressed to it at once, verifies it itself (signature,
 * expiry, nonce, the signer's scope over this node), runs it and records done or failed. Commands kept in the grid
 * are read again at start, so a node that was away runs what it missed while it has not expired. A rolling command
 * waits its turn: the nodes before it in the target list must be done and ready again.
 */
public final class CommandRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CommandRunner.class);
    private static final long TURN_POLL_MILLIS = 200;

    private final Cluster cluster;
    private final CommandLog commands;
    private final CommandAuthority authority;
    private final NodeOperations operations;
    private final ControlEvents events;
    private final String self;
    private final List<String> groups;
    private final Set<String> started = ConcurrentHashMap.newKeySet();
    private final ExecutorService work;

    CommandRunner(Cluster cluster, CommandLog commands, CommandAuthority authority, NodeOperations operations,
                  ControlEvents events) {
        this.cluster = cluster;
        this.commands = commands;
        this.authority = authority;
        this.operations = operations;
        this.events = events;
        this.self = cluster.registry().self().name();
        this.groups = cluster.registry().self().groups();
        this.work = Daemons.pool("autoglm-command-run-" + self, 2);
    }

    void start() {
        commands.watchCommands(this::offer);
    }

    private void offer(CommandRecord c) {
        if (!addressedHere(c) || commands.ack(c.id(), self).map(a -> a.state().terminal()).orElse(false)
                || c.expired(System.currentTimeMillis()) || !started.add(c.id())) {
            return;
        }
        long acked = System.currentTimeMillis();
        record(c, NodeAck.State.ACKED, null, null, acked);
        events.acked(c, self);
        work.execute(() -> run(c, acked));
    }

    private boolean addressedHere(CommandRecord c) {
        if (c.targetNodes().contains(self)) {
            return true;
        }
        CommandRequest r = CommandRequest.parse(c.body());
        return r.targetAll() || r.targetGroups() != null && r.targetGroups().stream().anyMatch(groups::contains);
    }

    private void run(CommandRecord c, long acked) {
        try {
            CommandRequest request = CommandRequest.parse(c.body());
            CommandKey key = authority.verify(c.body(), c.signature(), c.keyId());
            if (c.expired(System.currentTimeMillis())) {
                throw new IllegalStateException("expired at " + c.expiresAtSeconds() + " before it ran here");
            }
            if (!c.id().equals(commands.commandOfNonce(c.nonce()))) {
                throw new IllegalStateException("nonce '" + c.nonce() + "' belongs to another command: a replay");
            }
            CommandAuthority.requireScope(key, self, groups);
            String op = request.op();
            ObjectNode args = request.args();
            if (c.rolling()) {
                waitForTurn(c);
                op = args.path("op").asText();
                JsonNode inner = args.get("args");
                args = inner instanceof ObjectNode o ? o : CommandRequest.JSON.createObjectNode();
            }
            JsonNode result = operations.run(op, args);
            record(c, NodeAck.State.DONE, result.toString(), null, acked);
            events.finished(c, self, true, result.toString());
        } catch (CommandAuthority.BadSignature | CommandAuthority.OutOfScope e) {
            fail(c, "refused here: " + e.getMessage(), acked);
        } catch (Exception e) {
            fail(c, e.getMessage() == null ? e.toString() : e.getMessage(), acked);
        }
    }

    private void fail(CommandRecord c, String reason, long acked) {
        log.warn("command {} ({}) failed on {}: {}", c.id(), c.op(), self, reason);
        record(c, NodeAck.State.FAILED, null, reason, acked);
        events.finished(c, self, false, reason);
    }

    /** Rolling: every node before this one in the target order is done and ready again (healthy, not draining, loaded). */
    private void waitForTurn(CommandRecord c) throws InterruptedException {
        List<String> order = c.targetNodes();
        int me = order.indexOf(self);
        for (int i = 0; i < me; i++) {
            String before = order.get(i);
            while (true) {
                if (c.expired(System.currentTimeMillis())) {
                    throw new IllegalStateException("expired waiting for '" + before + "' to finish its turn");
                }
                NodeAck ack = commands.ack(c.id(), before).orElse(null);
                if (ack != null && ack.state() == NodeAck.State.FAILED) {
                    throw new IllegalStateException("rolling stopped: '" + before + "' failed (" + ack.reason() + ")");
                }
                if (ack != null && ack.state() == NodeAck.State.DONE && ready(before)) {
                    break;
                }
                TimeUnit.MILLISECONDS.sleep(TURN_POLL_MILLIS);
            }
        }
    }

    /** The health gate: healthy, not draining, and serving a model. */
    private boolean ready(String node) {
        // any entry of that name: a node that rejoined the cluster keeps its old (dead) entry until it expires
        return cluster.registry().nodes().stream().anyMatch(v -> v.name().equals(node)
                && v.health() == NodeHealth.HEALTHY && !v.draining() && v.info().model() != null);
    }

    private void record(CommandRecord c, NodeAck.State state, String result, String reason, long acked) {
        commands.record(new NodeAck(c.id(), self, state, result, reason, acked, System.currentTimeMillis()));
    }

    @Override
    public void close() {
        work.shutdownNow();
    }
}
