package org.autoglm.node.session;

/** A store refused new data because its memory is nearly full (HTTP 507); existing data is still served. */
public final class StorageFullException extends RuntimeException {

    public StorageFullException(String message) {
        super(message);
    }
}
