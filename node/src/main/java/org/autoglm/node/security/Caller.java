package org.autoglm.node.security;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Who sent a request: the token's subject, roles and control groups, or the anonymous local caller when
 * authentication is off (loopback or {@code --insecure}), who may do everything.
 *
 * @param groups the token's {@code groups} claim: an operator acts only on nodes of these groups; null when the
 *               token has no such claim (not limited to groups)
 */
public record Caller(String subject, Set<Role> roles, List<String> groups) {

    public static final Caller ANONYMOUS = new Caller("anonymous", EnumSet.allOf(Role.class));

    public Caller {
        roles = roles.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(roles));
        groups = groups == null ? null : List.copyOf(groups);
    }

    public Caller(String subject, Set<Role> roles) {
        this(subject, roles, null);
    }

    public boolean has(Role role) {
        return roles.contains(role) || roles.contains(Role.ADMIN);
    }

    /** True if the caller holds any of {@code allowed} (admin holds all). */
    public boolean hasAny(Set<Role> allowed) {
        return roles.contains(Role.ADMIN) || allowed.stream().anyMatch(roles::contains);
    }

    /** Admins and callers without a groups claim act everywhere; others on nodes sharing one of their groups. */
    public boolean mayActOn(List<String> nodeGroups) {
        return roles.contains(Role.ADMIN) || groups == null || nodeGroups.stream().anyMatch(groups::contains);
    }

    /** Admins and unscoped callers may name any group; others only their own. */
    public boolean mayActOnGroup(String group) {
        return roles.contains(Role.ADMIN) || groups == null || groups.contains(group);
    }
}
