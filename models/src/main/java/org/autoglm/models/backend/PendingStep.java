package org.autoglm.models.backend;

/**
 * A step {@link Backend#submit submitted} to a backend and perhaps still running there. Reading its result waits for
 * it; until then the host is free to plan and submit the next step (asynchronous scheduling).
 */
@FunctionalInterface
public interface PendingStep {

    /**
     * Waits for the step and returns what {@link Backend#forwardAndSample} would have: per chunk the drawn id or the
     * logits. Called once.
     *
     * @throws RuntimeException what the step's forward pass or sampling threw
     */
    SampledStep await();

    /** A step that already ran (the synchronous backends' answer). */
    static PendingStep done(SampledStep result) {
        return () -> result;
    }
}
