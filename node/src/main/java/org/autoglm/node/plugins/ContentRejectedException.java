package org.autoglm.node.plugins;

/** A plugin refuses content: the request gets 400 {@code content_filtered}, a stream ends with {@code content_filter}. */
public final class ContentRejectedException extends Exception {
    public ContentRejectedException(String message) {
        super(message, null, false, false);
    }
}
