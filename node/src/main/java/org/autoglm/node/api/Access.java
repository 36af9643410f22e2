package org.autoglm.node.api;

import io.javalin.security.RouteRole;
import java.util.EnumSet;
import java.util.Set;
import org.autoglm.node.security.Role;

/** Who may call a route. Admins may call every route; probes need no token. */
public enum Access implements RouteRole {
    /** {@code /health}, {@code /ready}: load balancers and orchestrators probe without credentials. */
    PUBLIC(EnumSet.noneOf(Role.class)),
    /** Inference, models and sessions. */
    INFERENCE(EnumSet.of(Role.USER, Role.OPERATOR)),
    /** Reading files and batches: users their own, auditors and operators all. */
    READ_JOBS(EnumSet.of(Role.USER, Role.OPERATOR, Role.AUDITOR)),
    /** {@code /metrics}: auditors read them, operators watch them. */
    METRICS(EnumSet.of(Role.AUDITOR, Role.OPERATOR)),
    /** {@code /admin/audit}. */
    AUDIT(EnumSet.of(Role.AUDITOR)),
    /** Queue view, cancel any request, drain. */
    OPERATE(EnumSet.of(Role.OPERATOR));

    private final Set<Role> roles;

    Access(Set<Role> roles) {
        this.roles = roles;
    }

    /** The roles allowed besides admin. */
    public Set<Role> roles() {
        return roles;
    }
}
