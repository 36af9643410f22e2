package org.autoglm.gossip.lease;

/**
 * Notices, on the monotonic clock, that this process may have stood still for longer than its peers wait before
 * dropping it (SIGSTOP, a starved machine), from the runs of one periodic task: either the task started that much
 * later than its last run ended, or its last run itself took that long (a pause that struck inside a run ends it
 * late, and the next run then starts on time). Not thread-safe: the task's own thread calls it.
 */
final class StandstillWatch {

    private final long limitNanos;
    private boolean ran;
    private long lastStart;
    private long lastEnd;

    StandstillWatch(long limitNanos) {
        this.limitNanos = limitNanos;
    }

    /** At the start of a run: how long this process may have stood still since the last one, if past the limit, else 0. */
    long begin(long now) {
        if (!ran) {
            return 0;
        }
        long still = Math.max(now - lastEnd, lastEnd - lastStart);
        return still > limitNanos ? still : 0;
    }

    /** At the end of each run (a run that was itself slow counts against the next one). */
    void end(long start, long now) {
        ran = true;
        lastStart = start;
        lastEnd = now;
    }

    /** Forget the past runs: this process's peers were found to count it at {@code now}. */
    void reset(long now) {
        ran = true;
        lastStart = now;
        lastEnd = now;
    }
}
