package org.autoglm.node.security;

import java.util.EnumSet;
import java.util.Set;

/**
 * Who sent a request: the token's subject and roles, or the anonymous local caller when authentication is
 * off (loopback or {@code --insecure}), who may do everything.
 */
public record Caller(String subject, Set<Role> roles) {

    public static final Caller ANONYMOUS = new Caller("anonymous", EnumSet.allOf(Role.class));

    public Caller {
        roles = roles.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(roles));
    }

    public boolean has(Role role) {
        return roles.contains(role) || roles.contains(Role.ADMIN);
    }

    /** True if the caller holds any of {@code allowed} (admin holds all). */
    public boolean hasAny(Set<Role> allowed) {
        return roles.contains(Role.ADMIN) || allowed.stream().anyMatch(roles::contains);
    }
}
