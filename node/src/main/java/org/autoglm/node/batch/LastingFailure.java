package org.autoglm.node.batch;

/**
 * Tells when a periodic task has failed at every run for a while. One failure is normal while the grid changes (logged
 * at DEBUG); a task that keeps failing stops batches silently unless someone says so at WARN, once a minute.
 */
final class LastingFailure {

    /** Failing for this long is worth a warning. */
    static final long WARN_AFTER_MILLIS = 30_000;
    private static final long WARN_EVERY_MILLIS = 60_000;

    private long failingSinceMillis = -1;
    private long warnedAtMillis;

    synchronized void succeeded() {
        failingSinceMillis = -1;
    }

    /** Counts a failure now; true when the task has failed since {@link #WARN_AFTER_MILLIS} ago and is due a warning. */
    synchronized boolean failedAndDue(long nowMillis) {
        if (failingSinceMillis < 0) {
            failingSinceMillis = nowMillis;
        }
        if (nowMillis - failingSinceMillis < WARN_AFTER_MILLIS || nowMillis - warnedAtMillis < WARN_EVERY_MILLIS) {
            return false;
        }
        warnedAtMillis = nowMillis;
        return true;
    }

    /** Seconds the task has been failing. */
    synchronized long seconds(long nowMillis) {
        return failingSinceMillis < 0 ? 0 : (nowMillis - failingSinceMillis) / 1000;
    }
}
