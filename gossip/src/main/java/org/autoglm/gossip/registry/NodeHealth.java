package org.autoglm.gossip.registry;

import java.util.Locale;

/** A node's health as this node sees it, from heartbeat age and Ignite's failure detection. */
public enum NodeHealth {
    /** Heartbeats arrive: the node may take work. */
    HEALTHY,
    /** No heartbeat for a while: given no new work, but its work is not moved yet. */
    SUSPECT,
    /**
     * Heartbeats arrive, but its engine has made no step for many times its step time while it has work: given no new
     * work, and what it holds is placed elsewhere.
     */
    STALLED,
    /** Gone from the grid or silent past the dead threshold: its work is moved elsewhere. */
    DEAD;

    /** The JSON value: {@code healthy}, {@code suspect}, {@code dead}. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
