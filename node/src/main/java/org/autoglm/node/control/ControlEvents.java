package org.autoglm.node.control;

import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandRecord;
import org.autoglm.node.security.Caller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where the control plane reports what happened: the cluster audit chain and the event stream. */
class ControlEvents {

    private static final Logger log = LoggerFactory.getLogger(ControlEvents.class);

    void commandSent(CommandRecord c, Caller caller) {
        log.info("command {} {} sent by {} to {}", c.id(), c.op(), caller.subject(), c.targetNodes());
    }

    void acked(CommandRecord c, String node) {
        log.debug("command {} acked by {}", c.id(), node);
    }

    void finished(CommandRecord c, String node, boolean done, String detail) {
        log.debug("command {} {} on {}: {}", c.id(), done ? "done" : "failed", node, detail);
    }

    void keyAdded(CommandKey key, Caller caller) {
        log.info("command key {} registered by {}", key.keyId(), caller.subject());
    }
}
