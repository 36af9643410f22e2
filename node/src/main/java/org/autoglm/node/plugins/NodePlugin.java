package org.autoglm.node.plugins;

/**
 * Middleware around inference, found with {@link java.util.ServiceLoader} and enabled by name
 * ({@code serve --plugins audit-log,sensitive-words}). A plugin sees each request before it is scheduled
 * (and may reject it or rewrite its text), each streamed piece of output, and the completion.
 *
 * <p>To add one: implement this interface, list the class in
 * {@code META-INF/services/org.autoglm.node.plugins.NodePlugin}, put the jar on the class path.
 */
public interface NodePlugin extends AutoCloseable {

    /** The name it is enabled by, e.g. {@code audit-log}. */
    String name();

    /** Called once at start-up with this plugin's options; throw to refuse to start with a reason. */
    void configure(PluginConfig config) throws Exception;

    /**
     * A request is about to be scheduled. Return the hooks that follow this request (or
     * {@link RequestHooks#NONE}).
     *
     * @throws ContentRejectedException to refuse it (the client gets 400 {@code content_filtered})
     */
    RequestHooks onRequest(PluginRequest request) throws ContentRejectedException;

    @Override
    default void close() {}
}
