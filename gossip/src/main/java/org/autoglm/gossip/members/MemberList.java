package org.autoglm.gossip.members;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Who votes and who is out, by {@code --node-name}: the one record that says which nodes make a majority. Changed
 * one member at a time, so any majority of the old list and any majority of the new one share a voter. A plain
 * class: Ignite cannot marshal records.
 */
public final class MemberList implements Serializable {

    private static final long serialVersionUID = 1L;

    private final long version;
    private final int seats;
    private final List<String> voters;
    private final List<String> removed;

    MemberList(long version, int seats, List<String> voters, List<String> removed) {
        this.version = version;
        this.seats = seats;
        this.voters = List.copyOf(voters);
        this.removed = List.copyOf(removed);
    }

    /** Before anyone wrote the list: {@code --expected-nodes} seats, filled by the first nodes to join. */
    static MemberList initial(int expectedNodes) {
        return new MemberList(0, expectedNodes, List.of(), List.of());
    }

    /** Increases with every change. */
    public long version() { return version; }
    /** Votes that make up the whole: a majority is {@code seats / 2 + 1} voters. */
    public int seats() { return seats; }
    /** Names of the voting nodes (at most {@link #seats}; fewer while the first nodes are still joining). */
    public List<String> voters() { return voters; }
    /** Names removed by an admin: given no work and no vote until added again. */
    public List<String> removed() { return removed; }

    /** Voters needed for a majority. */
    public int quorum() {
        return seats / 2 + 1;
    }

    boolean seatFree() {
        return voters.size() < seats;
    }

    /** A joining node takes a free seat of the initial voting set. */
    MemberList seated(String name) {
        List<String> next = new ArrayList<>(voters);
        next.add(name);
        return new MemberList(version + 1, seats, next, removed);
    }

    /** An admin adds a voter: the seats grow with it (or a free initial seat is taken). */
    MemberList withVoter(String name) {
        List<String> next = new ArrayList<>(voters);
        next.add(name);
        List<String> out = new ArrayList<>(removed);
        out.remove(name);
        return new MemberList(version + 1, Math.max(seats, next.size()), next, out);
    }

    /** An admin removes a node: no vote (the seats shrink with it) and no work. */
    MemberList without(String name) {
        List<String> next = new ArrayList<>(voters);
        boolean wasVoter = next.remove(name);
        List<String> out = new ArrayList<>(removed);
        if (!out.contains(name)) {
            out.add(name);
        }
        return new MemberList(version + 1, wasVoter ? seats - 1 : seats, next, out);
    }

    @Override
    public String toString() {
        return "members(v" + version + ", " + voters + " of " + seats + " seats, removed " + removed + ")";
    }
}
