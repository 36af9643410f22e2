package org.autoglm.gossip.batch;

import java.util.Locale;

/** OpenAI's batch statuses. A batch moves forward only; the last four end it. */
public enum BatchStatus {
    VALIDATING, IN_PROGRESS, FINALIZING, CANCELLING, COMPLETED, FAILED, EXPIRED, CANCELLED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Nothing more happens to a batch in this state. */
    public boolean terminal() {
        return this == COMPLETED || this == FAILED || this == EXPIRED || this == CANCELLED;
    }
}
