package org.autoglm.bench;

/**
 * The long fault-injection run: 100 seeded schedules of about 60 s each (the first is the leader kill) over
 * three serve processes of the node jar, through the node tests' {@code FaultHarness} and {@code LongRun} (options
 * there). Not a test: the figures (lost, duplicated, split-brain, convergence) go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.FaultBench node/target/autoglm-node.jar fixtures/glm-tiny
 *      [--schedules 100] [--seconds 60] [--first-seed 1] [--parallel 2] [--out /tmp/faultbench]
 * </pre>
 */
public final class FaultBench {

    private FaultBench() {}

    public static void main(String[] args) throws Exception {
        org.autoglm.node.faults.LongRun.main(args);
    }
}
