package org.autoglm.gossip.grid;

import java.util.List;
import org.apache.ignite.IgniteLogger;
import org.apache.ignite.logger.slf4j.Slf4jLogger;

/**
 * Ignite's log through slf4j, minus the noise of a grid's normal life. Ignite reports a peer that was killed or
 * stopped ("Failed to process selector key", "Failed to send message to remote node", ...) and a lock wait that timed
 * out while the topology changed ("Failed to acquire lock") as ERRORs with multi-line dumps; for us these are expected
 * events our own code notices and handles (failover, lease retry). They become one debug line; everything else
 * passes through unchanged, so real problems still show at warn and error.
 */
public final class QuietIgniteLogger implements IgniteLogger {

    /** Starts of Ignite messages that describe expected events, not faults. */
    private static final List<String> EXPECTED = List.of(
            "Failed to process selector key",           // a peer's connection was closed under us: it died or left
            "Failed to send message to remote node",    // ... to a node that has just left
            "Unable to send message (node left topology)",
            "Failed to send message to next node",
            "Failed to acquire lock",                   // a lock wait timed out (a topology change held it); retried
            "Failed to acquire lock within provided timeout",
            "Failed to reconnect to cluster",
            "Failed to connect to a remote node");
    private static final int ONE_LINE = 240;

    /** How Ignite announces that its failure handler is about to stop (or halt) the node. */
    static final String CRITICAL = "Critical system error detected";

    private final IgniteLogger delegate;
    /**
     * The grid node only stops on a critical failure (tests, tools that embed a grid and cut nodes off on purpose):
     * Ignite's announcement of it is one debug line. In {@code serve} (the process halts) it stays an error, in one
     * line.
     */
    private final boolean failureStopsOnlyTheNode;

    public QuietIgniteLogger() {
        this(false);
    }

    public QuietIgniteLogger(boolean failureStopsOnlyTheNode) {
        this(new Slf4jLogger(), failureStopsOnlyTheNode);
    }

    QuietIgniteLogger(IgniteLogger delegate, boolean failureStopsOnlyTheNode) {
        this.delegate = delegate;
        this.failureStopsOnlyTheNode = failureStopsOnlyTheNode;
    }

    /** True for a message about an expected event (a peer leaving, a timed-out lock wait). */
    static boolean expected(String message, Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String name = t.getClass().getSimpleName();
            if (name.equals("IgniteTxTimeoutCheckedException") || name.equals("TransactionTimeoutException")) {
                return true;
            }
        }
        return message != null && EXPECTED.stream().anyMatch(message::startsWith);
    }

    /** The first line of a message, cut short, with the root cause's class and first line. */
    public static String oneLine(String message, Throwable error) {
        String text = firstLine(message);
        if (error != null) {
            Throwable root = error;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            text += " (" + root.getClass().getSimpleName() + ": " + firstLine(root.getMessage()) + ")";
        }
        return text;
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "";
        }
        int end = text.indexOf('\n');
        String line = end < 0 ? text : text.substring(0, end);
        return line.length() <= ONE_LINE ? line : line.substring(0, ONE_LINE) + "...";
    }

    @Override
    public IgniteLogger getLogger(Object category) {
        return new QuietIgniteLogger(delegate.getLogger(category), failureStopsOnlyTheNode);
    }

    /**
     * For a failure because a peer refused this node's TLS certificate (a fatal alert during the handshake), the one
     * line that says so; else null.
     */
    static String refusedByPeer(String message, Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String text = t.getMessage() == null ? "" : t.getMessage();
            if (t instanceof javax.net.ssl.SSLException && text.contains("fatal alert")) {
                return "grid TLS: a peer turned this node away (" + text + "): is --grid-tls-keystore signed by the "
                        + "cluster CA that the peers trust? [" + firstLine(message) + "]";
            }
        }
        return null;
    }

    @Override
    public void warning(String message, Throwable error) {
        String refused = refusedByPeer(message, error);
        if (refused != null) {
            delegate.warning(refused);
        } else if (expected(message, error)) {
            delegate.debug(oneLine(message, error));
        } else {
            delegate.warning(message, error);
        }
    }

    @Override
    public void error(String message, Throwable error) {
        String refused = refusedByPeer(message, error);
        if (refused != null) {
            delegate.error(refused);
        } else if (message != null && message.startsWith(CRITICAL)) {
            if (failureStopsOnlyTheNode) {
                delegate.debug(oneLine(message, error));
            } else {
                delegate.error(oneLine(message, error) + "; the process halts so that its supervisor restarts it");
            }
        } else if (expected(message, error)) {
            delegate.debug(oneLine(message, error));
        } else {
            delegate.error(message, error);
        }
    }

    @Override
    public void trace(String message) {
        delegate.trace(message);
    }

    @Override
    public void debug(String message) {
        delegate.debug(message);
    }

    @Override
    public void info(String message) {
        delegate.info(message);
    }

    @Override
    public boolean isTraceEnabled() {
        return delegate.isTraceEnabled();
    }

    @Override
    public boolean isDebugEnabled() {
        return delegate.isDebugEnabled();
    }

    @Override
    public boolean isInfoEnabled() {
        return delegate.isInfoEnabled();
    }

    @Override
    public boolean isQuiet() {
        return delegate.isQuiet();
    }

    @Override
    public String fileName() {
        return delegate.fileName();
    }
}
