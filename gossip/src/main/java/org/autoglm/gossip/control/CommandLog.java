package org.autoglm.gossip.control;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ModifiedExpiryPolicy;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.ContinuousQuery;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.cache.query.ScanQuery;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;

/**
 * The cluster's signed commands, their per-node acknowledgements, the nonces already used, and the registered signer
 * keys: four replicated caches, so that any node can answer for any command and a node that returns reads what it
 * missed. Commands and nonces are kept a day past their expiry, long enough that a replay is refused.
 */
public final class CommandLog implements AutoCloseable {

    static final String COMMANDS = "autoglm-commands";
    static final String ACKS = "autoglm-command-acks";
    static final String NONCES = "autoglm-command-nonces";
    static final String KEYS = "autoglm-command-keys";
    private static final long KEEP_AFTER_EXPIRY_MILLIS = 24 * 3600_000L;

    private final IgniteCache<String, CommandRecord> commands;
    private final IgniteCache<String, NodeAck> acks;
    private final IgniteCache<String, String> nonces;
    private final IgniteCache<String, CommandKey> keys;
    private final ExecutorService callbacks;
    private final List<QueryCursor<?>> watches = new ArrayList<>();

    public CommandLog(GridNode grid) {
        this.commands = grid.ignite().getOrCreateCache(GridCaches.replicated(COMMANDS, CacheAtomicityMode.ATOMIC));
        this.acks = grid.ignite().getOrCreateCache(GridCaches.replicated(ACKS, CacheAtomicityMode.ATOMIC));
        this.nonces = grid.ignite().getOrCreateCache(GridCaches.replicated(NONCES, CacheAtomicityMode.ATOMIC));
        this.keys = grid.ignite().getOrCreateCache(GridCaches.replicated(KEYS, CacheAtomicityMode.ATOMIC));
        this.callbacks = Daemons.pool("autoglm-commands-" + grid.name(), 1);
    }

    /** Thrown when a command's nonce was used before: a replay, refused cluster-wide. */
    public static final class ReplayException extends Exception {
        public ReplayException(String message) {
            super(message);
        }
    }

    /**
     * Records an accepted command; its nonce is taken first, atomically, so that the same signed body posted twice
     * (to any nodes, at once or later) is accepted once.
     */
    public void add(CommandRecord command) throws ReplayException {
        long keep = Math.max(1, command.expiresAtSeconds() * 1000L - System.currentTimeMillis()) + KEEP_AFTER_EXPIRY_MILLIS;
        ModifiedExpiryPolicy ttl = new ModifiedExpiryPolicy(new Duration(java.util.concurrent.TimeUnit.MILLISECONDS, keep));
        String earlier = nonces.withExpiryPolicy(ttl).getAndPutIfAbsent(command.nonce(), command.id());
        if (earlier != null) {
            throw new ReplayException("nonce '" + command.nonce() + "' was already used by command " + earlier
                    + "; sign a new command with a fresh nonce");
        }
        commands.withExpiryPolicy(ttl).put(command.id(), command);
    }

    /** The command that used {@code nonce}, or null. */
    public String commandOfNonce(String nonce) {
        return nonces.get(nonce);
    }

    public Optional<CommandRecord> get(String id) {
        return Optional.ofNullable(commands.get(id));
    }

    /** Every command kept, newest first. */
    public List<CommandRecord> list() {
        List<CommandRecord> all = new ArrayList<>();
        for (var e : commands.query(new ScanQuery<String, CommandRecord>()).getAll()) {
            all.add(e.getValue());
        }
        all.sort(Comparator.comparingLong(CommandRecord::createdAtMillis).reversed());
        return all;
    }

    /** What {@code node} has recorded for the command, if anything. */
    public Optional<NodeAck> ack(String commandId, String node) {
        return Optional.ofNullable(acks.get(NodeAck.key(commandId, node)));
    }

    public void record(NodeAck ack) {
        acks.put(NodeAck.key(ack.commandId(), ack.node()), ack);
    }

    /** Acks of one command by node name. */
    public Map<String, NodeAck> acks(CommandRecord command) {
        java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        command.targetNodes().forEach(n -> ids.add(NodeAck.key(command.id(), n)));
        Map<String, NodeAck> byNode = new java.util.TreeMap<>();
        acks.getAll(ids).values().forEach(a -> byNode.put(a.node(), a));
        // Nodes outside the original target that ran it (one that joined its group later and was listed on return).
        for (var e : acks.query(new ScanQuery<String, NodeAck>((k, v) -> v.commandId().equals(command.id()))).getAll()) {
            byNode.putIfAbsent(e.getValue().node(), e.getValue());
        }
        return byNode;
    }

    /**
     * Calls {@code onCommand} (one at a time, on a thread of its own) for every command kept now and every one added
     * later: how a node runs what it missed while it was away.
     */
    public void watchCommands(Consumer<CommandRecord> onCommand) {
        ContinuousQuery<String, CommandRecord> query = new ContinuousQuery<>();
        query.setLocalListener(events -> events.forEach(e -> {
            if (e.getValue() != null) {
                CommandRecord c = e.getValue();
                callbacks.execute(() -> onCommand.accept(c));
            }
        }));
        QueryCursor<?> cursor = commands.query(query);
        watches.add(cursor);
        for (CommandRecord c : list()) {
            callbacks.execute(() -> onCommand.accept(c));
        }
    }

    /** Calls {@code onAck} (on a grid thread: return quickly, write nothing) for every ack written from now on. */
    public void watchAcks(Consumer<NodeAck> onAck) {
        ContinuousQuery<String, NodeAck> query = new ContinuousQuery<>();
        query.setLocalListener(events -> events.forEach(e -> {
            if (e.getValue() != null) onAck.accept(e.getValue());
        }));
        watches.add(acks.query(query));
    }

    public void addKey(CommandKey key) {
        keys.put(key.keyId(), key);
    }

    public Optional<CommandKey> key(String keyId) {
        return Optional.ofNullable(keys.get(keyId));
    }

    public List<CommandKey> keys() {
        List<CommandKey> all = new ArrayList<>();
        for (var e : keys.query(new ScanQuery<String, CommandKey>()).getAll()) {
            all.add(e.getValue());
        }
        all.sort(Comparator.comparing(CommandKey::keyId));
        return all;
    }

    @Override
    public void close() {
        watches.forEach(QueryCursor::close);
        callbacks.shutdownNow();
    }
}
