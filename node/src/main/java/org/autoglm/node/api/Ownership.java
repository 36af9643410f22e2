package org.autoglm.node.api;

import org.autoglm.node.security.Caller;
import org.autoglm.node.security.Role;

/**
 * Who may see and change files and batches: a user their own, an auditor reads all, an operator reads and cancels
 * all, an admin does everything. Something the caller may not see is reported as not found.
 */
final class Ownership {

    private Ownership() {}

    static boolean canRead(Caller caller, String owner) {
        return caller.subject().equals(owner) || caller.has(Role.AUDITOR) || caller.has(Role.OPERATOR);
    }

    static boolean canCancel(Caller caller, String owner) {
        return caller.subject().equals(owner) || caller.has(Role.OPERATOR);
    }

    static boolean canDelete(Caller caller, String owner) {
        return caller.subject().equals(owner) || caller.has(Role.ADMIN);
    }
}
