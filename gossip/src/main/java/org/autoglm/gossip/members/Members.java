package org.autoglm.gossip.members;

import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.Daemons;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.grid.MajorityValidator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The voting set at run time. It starts as {@code --expected-nodes} seats, which the first nodes to join take;
 * later nodes serve and execute without a vote. It changes only by an admin's {@link #add} or {@link #remove}, one
 * node at a time, and only on a side that sees a majority of the current voters, so a partition can never hold two
 * majorities (and never elects two leaders). The grid node is told the voters, and counts only them for its quorum.
 */
public final class Members implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Members.class);
    private static final String KEY = "members";
    private static final long TX_TIMEOUT_MILLIS = 5_000;

    private final GridNode grid;
    private final IgniteCache<String, MemberList> cache;
    private final ScheduledExecutorService refresher;
    private volatile MemberList current;

    public Members(GridNode grid) {
        this.grid = grid;
        this.cache = grid.ignite().getOrCreateCache(GridCaches.<String, MemberList>replicated(
                        GridCaches.MEMBERS, CacheAtomicityMode.TRANSACTIONAL)
                .setTopologyValidator(new MajorityValidator(grid.config().expectedNodes)));
        this.current = MemberList.initial(grid.config().expectedNodes);
        this.refresher = Daemons.scheduler("autoglm-members-" + grid.name());
        long period = grid.config().health.heartbeatInterval.toMillis();
        refresher.scheduleWithFixedDelay(this::refresh, 0, period, TimeUnit.MILLISECONDS);
    }

    /** The list as last read from the grid (refreshed every heartbeat interval). */
    public MemberList list() {
        return current;
    }

    /** True when an admin removed {@code name}: it gets no work. */
    public boolean isRemoved(String name) {
        return current.removed().contains(name);
    }

    /** Reads the list, hands the voters to the grid node, and takes a free initial seat for this node. */
    private void refresh() {
        try {
            MemberList read = cache.get(KEY);
            if (read == null || wantsSeat(read)) { // written under the grid's majority guard, like every change
                read = change(list -> wantsSeat(list) ? list.seated(grid.name()) : list);
                log.info("{} holds a voting seat: {}", grid.name(), read);
            }
            publish(read);
        } catch (RuntimeException e) {
            log.debug("member list not refreshed on {}: {}", grid.name(), e.toString());
        }
    }

    private boolean wantsSeat(MemberList list) {
        return list.seatFree() && !list.voters().contains(grid.name()) && !list.removed().contains(grid.name());
    }

    private void publish(MemberList list) {
        if (list != null) {
            current = list;
            grid.voters(Set.copyOf(list.voters()), list.seats(), Set.copyOf(list.removed()));
        }
    }

    /**
     * Makes {@code name} a voter (it may join later).
     *
     * @throws IllegalStateException when this node sees no majority of the voters (the change could split the vote)
     */
    public MemberList add(String name) {
        requireMajority("add " + name);
        MemberList after = change(list -> list.voters().contains(name) ? list : list.withVoter(name));
        publish(after);
        log.info("member list after adding {}: {}", name, after);
        return after;
    }

    /**
     * Takes {@code name}'s vote and its work away.
     *
     * @throws IllegalStateException when this node sees no majority, or {@code name} is the last voter
     */
    public MemberList remove(String name) {
        requireMajority("remove " + name);
        MemberList after = change(list -> {
            if (list.voters().size() == 1 && list.voters().contains(name)) {
                throw new IllegalStateException("'" + name + "' is the last voter; add another voter first");
            }
            return list.removed().contains(name) && !list.voters().contains(name) ? list : list.without(name);
        });
        publish(after);
        log.info("member list after removing {}: {}", name, after);
        return after;
    }

    private void requireMajority(String what) {
        if (!grid.hasQuorum()) {
            throw new IllegalStateException("cannot " + what + ": this node sees no majority of the voters "
                    + current.voters() + "; change membership from a node on the majority side");
        }
    }

    private MemberList change(java.util.function.UnaryOperator<MemberList> edit) {
        try (Transaction tx = grid.ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_MILLIS, 0)) {
            MemberList before = cache.get(KEY);
            if (before == null) {
                before = MemberList.initial(grid.config().expectedNodes);
            }
            MemberList after = edit.apply(before);
            if (after != before) {
                cache.put(KEY, after);
            }
            tx.commit();
            return after;
        }
    }

    @Override
    public void close() {
        refresher.shutdownNow();
    }
}
