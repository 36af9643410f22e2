package org.autoglm.bench;

/**
 * The long fault-injection run: 100 seeded schedules of about 60 s each (the first is the leader kill) over
 * three serve processes of the node jar, through the node tests' {@code FaultHarness}. Not a test: the figures (lost,
 * duplicated, split-brain, convergence) go to the README.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.autoglm.bench.FaultBench node/target/autoglm-node.jar fixtures/glm-tiny
 *      [--schedules 100] [--seconds 60] [--seed 1] [--nodes 3]
 * </pre>
 */
public final class FaultBench {

    private FaultBench() {}

    public static void main(String[] args) throws Exception {
        org.autoglm.node.faults.FaultHarness.main(args);
    }
}
