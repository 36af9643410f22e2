package org.autoglm.bench;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The grammar engine on MaskBench's corpus (fixtures/jsonschemabench.zip, 1,358 schemas) with the 151k Qwen3
 * tokenizer, single thread. Each invocation is one pass as MaskBench runs an engine: a fresh compiler, every
 * schema compiled, every valid instance walked token by token with the mask computed before each token. The
 * per-mask and per-compile percentiles and the passing count of each pass are printed at its end (JMH itself
 * only sees the pass time). Run: {@code java -jar bench/target/benchmarks.jar GrammarBenchmark -p
 * fixtures=fixtures}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 2)
@Fork(value = 1, jvmArgs = {"-Xmx8g"})
public class GrammarBenchmark {

    /** The repository's fixtures folder (holds jsonschemabench.zip and tokenizers/qwen3-151k.zip). */
    @Param("fixtures")
    public String fixtures;

    /** Every n-th schema of the corpus (1: all). */
    @Param("1")
    public int stride;

    private GrammarCorpus corpus;
    private GrammarCorpus.PassResult last;

    @Setup(Level.Trial)
    public void load() {
        corpus = new GrammarCorpus(Path.of(fixtures), stride);
    }

    @Benchmark
    public int corpusPass() {
        last = corpus.pass();
        return last.masks;
    }

    @TearDown(Level.Iteration)
    public void report() {
        if (last != null) {
            System.out.println();
            System.out.println("GrammarBenchmark pass: " + last.summary());
        }
    }
}
