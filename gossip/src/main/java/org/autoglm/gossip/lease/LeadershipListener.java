package org.autoglm.gossip.lease;

/** Leadership arrives as callbacks (sofa-jraft style), always in start/stop pairs, on the lease thread. */
public interface LeadershipListener {

    /** This node holds the lease for {@code term}; everything it assigns must carry this term. */
    void onLeaderStart(long term);

    /** This node no longer leads: stop assigning at once (its term is stale from now on). */
    void onLeaderStop();
}
