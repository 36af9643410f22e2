package org.autoglm.node.engine.runner;

import org.autoglm.models.backend.PendingStep;
import org.autoglm.models.backend.SampledStep;
import org.autoglm.node.engine.scheduler.SchedulerOutput;

/**
 * One plan submitted to the backend and not yet read back ({@link ModelRunner#submit}): the plan, the batch sent,
 * the backend's handle, and the per-entry outcome filled as the step is prepared and completed.
 */
public final class StepInFlight {

    private final SchedulerOutput plan;
    private final int[] sampled;
    private final String[] errors;
    private ModelRunner.Batch batch;
    private PendingStep pending;
    private RuntimeException startError;
    /** Fed from a step whose draws failed: its own draws are not to be trusted, it runs again. */
    private boolean mustRerun;
    private StepResult result;

    StepInFlight(SchedulerOutput plan, int[] sampled, String[] errors) {
        this.plan = plan;
        this.sampled = sampled;
        this.errors = errors;
    }

    public SchedulerOutput plan() {
        return plan;
    }

    public boolean isCompleted() {
        return result != null;
    }

    int[] sampled() {
        return sampled;
    }

    String[] errors() {
        return errors;
    }

    ModelRunner.Batch batch() {
        return batch;
    }

    void batch(ModelRunner.Batch value) {
        batch = value;
    }

    void start(PendingStep value) {
        pending = value;
    }

    void startFailed(RuntimeException e) {
        startError = e;
    }

    boolean mustRerun() {
        return mustRerun;
    }

    void mustRerun(boolean value) {
        mustRerun = value;
    }

    /** The backend's result, waiting for it; throws what starting or running the step threw. */
    SampledStep awaitStarted() {
        if (startError != null) throw startError;
        return pending.await();
    }

    void complete(StepResult value) {
        result = value;
    }

    StepResult result() {
        return result;
    }
}
