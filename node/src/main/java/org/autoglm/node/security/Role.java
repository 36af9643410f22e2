package org.autoglm.node.security;

import java.util.Locale;
import java.util.Optional;

/** What a caller may do; carried in the JWT {@code roles} claim. */
public enum Role {
    /** Inference and the caller's own sessions. */
    USER,
    /** A user who may also view the queue, cancel any request and drain the node. */
    OPERATOR,
    /** Reads the audit log and metrics, nothing else. */
    AUDITOR,
    /** Everything. */
    ADMIN;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Role> fromWire(String s) {
        for (Role r : values()) {
            if (r.wire().equals(s)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
