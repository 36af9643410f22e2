package org.autoglm.gossip.control;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import java.util.function.Supplier;
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
import org.autoglm.gossip.grid.GridWatches;
import org.autoglm.gossip.grid.OnCurrentGrid;

/**
 * The cluster's signed commands, their per-node acknowledgements, the nonces already used, and the registered signer
 * keys: four replicated caches, so that any node can answer for any command and a node that returns reads what it
 * missed. Commands and nonces are kept a day past their expiry, long enough that a replay is refused. It follows
 * this process's current grid node: after a rejoin ({@link #rejoined}) the watches run on the new one.
 */
public final class CommandLog implements AutoCloseable {

    static final String COMMANDS = "autoglm-commands";
    static final String ACKS = "autoglm-command-acks";
    static final String NONCES = "autoglm-command-nonces";
    static final String KEYS = "autoglm-command-keys";
    private static final long KEEP_AFTER_EXPIRY_MILLIS = 24 * 3600_000L;

    /** The four caches on one grid node. */
    private record Caches(IgniteCache<String, CommandRecord> commands, IgniteCache<String, NodeAck> acks,
                          IgniteCache<String, String> nonces, IgniteCache<String, CommandKey> keys) {
        static Caches on(GridNode grid) {
            GridCaches.createAll(grid, GridCaches.replicated(COMMANDS, CacheAtomicityMode.ATOMIC),
                    GridCaches.replicated(ACKS, CacheAtomicityMode.ATOMIC),
                    GridCaches.replicated(NONCES, CacheAtomicityMode.ATOMIC),
                    GridCaches.replicated(KEYS, CacheAtomicityMode.ATOMIC));
            return new Caches(grid.ignite().cache(COMMANDS), grid.ignite().cache(ACKS), grid.ignite().cache(NONCES),
                    grid.ignite().cache(KEYS));
        }
    }

    private final OnCurrentGrid<Caches> caches;
    private final ExecutorService callbacks;
    private final GridWatches watches = new GridWatches();

    /** @param grid the grid node this process is in now (a rejoin replaces it) */
    public CommandLog(Supplier<GridNode> grid) {
        this.caches = new OnCurrentGrid<>(grid, Caches::on);
        caches.get(); // made at start: a cache made later costs a grid-wide exchange then
        this.callbacks = Daemons.pool("autoglm-commands-" + grid.get().name(), 1);
    }

    /**
     * This process rejoined the cluster on a fresh grid node: the watches move to it, and {@link #watchCommands}
     * hears of every command kept again (those it missed while away among them).
     */
    public void rejoined() {
        watches.reopen();
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
        String earlier = caches.get().nonces().withExpiryPolicy(ttl).getAndPutIfAbsent(command.nonce(), command.id());
        if (earlier != null) {
            throw new ReplayException("nonce '" + command.nonce() + "' was already used by command " + earlier
                    + "; sign a new command with a fresh nonce");
        }
        caches.get().commands().withExpiryPolicy(ttl).put(command.id(), command);
    }

    /** The command that used {@code nonce}, or null. */
    public String commandOfNonce(String nonce) {
        return caches.get().nonces().get(nonce);
    }

    public Optional<CommandRecord> get(String id) {
        return Optional.ofNullable(caches.get().commands().get(id));
    }

    /** Every command kept, newest first. */
    public List<CommandRecord> list() {
        List<CommandRecord> all = new ArrayList<>();
        for (var e : caches.get().commands().query(new ScanQuery<String, CommandRecord>()).getAll()) {
            all.add(e.getValue());
        }
        all.sort(Comparator.comparingLong(CommandRecord::createdAtMillis).reversed());
        return all;
    }

    /** What {@code node} has recorded for the command, if anything. */
    public Optional<NodeAck> ack(String commandId, String node) {
        return Optional.ofNullable(caches.get().acks().get(NodeAck.key(commandId, node)));
    }

    public void record(NodeAck ack) {
        caches.get().acks().put(NodeAck.key(ack.commandId(), ack.node()), ack);
    }

    /** Acks of one command by node name. */
    public Map<String, NodeAck> acks(CommandRecord command) {
        java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        command.targetNodes().forEach(n -> ids.add(NodeAck.key(command.id(), n)));
        Map<String, NodeAck> byNode = new java.util.TreeMap<>();
        IgniteCache<String, NodeAck> acks = caches.get().acks();
        acks.getAll(ids).values().forEach(a -> byNode.put(a.node(), a));
        // Nodes outside the original target that ran it (one that joined its group later and was listed on return).
        for (var e : acks.query(new ScanQuery<String, NodeAck>((k, v) -> v.commandId().equals(command.id()))).getAll()) {
            byNode.putIfAbsent(e.getValue().node(), e.getValue());
        }
        return byNode;
    }

    /**
     * Calls {@code onCommand} (one at a time, on a thread of its own) for every command kept now and every one added
     * later, and for every command kept again after a rejoin: how a node runs what it missed while it was away. A
     * command may be heard of more than once.
     */
    public void watchCommands(Consumer<CommandRecord> onCommand) {
        watches.add(() -> {
            ContinuousQuery<String, CommandRecord> query = new ContinuousQuery<>();
            query.setLocalListener(events -> events.forEach(e -> {
                if (e.getValue() != null) {
                    CommandRecord c = e.getValue();
                    callbacks.execute(() -> onCommand.accept(c));
                }
            }));
            QueryCursor<?> cursor = caches.get().commands().query(query);
            for (CommandRecord c : list()) {
                callbacks.execute(() -> onCommand.accept(c));
            }
            return cursor;
        });
    }

    public void addKey(CommandKey key) {
        caches.get().keys().put(key.keyId(), key);
    }

    public Optional<CommandKey> key(String keyId) {
        return Optional.ofNullable(caches.get().keys().get(keyId));
    }

    public List<CommandKey> keys() {
        List<CommandKey> all = new ArrayList<>();
        for (var e : caches.get().keys().query(new ScanQuery<String, CommandKey>()).getAll()) {
            all.add(e.getValue());
        }
        all.sort(Comparator.comparing(CommandKey::keyId));
        return all;
    }

    @Override
    public void close() {
        watches.close();
        callbacks.shutdownNow();
    }
}
