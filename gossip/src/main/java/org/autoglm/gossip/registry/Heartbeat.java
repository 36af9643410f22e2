package org.autoglm.gossip.registry;

import java.io.Serializable;

/** The registry cache value: a node's attributes and load, re-published every heartbeat interval. */
final class Heartbeat implements Serializable {

    private static final long serialVersionUID = 1L;

    final NodeInfo info;
    final NodeLoad load;
    /** Counts this node's heartbeats, so that every publish is a visible change. */
    final long sequence;

    Heartbeat(NodeInfo info, NodeLoad load, long sequence) {
        this.info = info;
        this.load = load;
        this.sequence = sequence;
    }
}
