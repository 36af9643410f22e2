package org.autoglm.node.engine.policy;

import java.util.Comparator;
import org.autoglm.node.engine.scheduler.Sequence;

/** First come, first served; the newest running sequence is preempted first (vLLM's default). */
public final class FcfsPolicy implements SchedulingPolicy {

    @Override
    public String name() {
        return "fcfs";
    }

    @Override
    public Comparator<Sequence> order() {
        return ARRIVAL;
    }
}
