package org.autoglm.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.autoglm.node.engine.kv.BlockHash;
import org.autoglm.node.engine.kv.BlockPool;
import org.autoglm.node.engine.kv.BlockTable;
import org.autoglm.node.engine.kv.KvBlock;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * KV block pool hot paths: allocate + free of one block (target 100 ns), the chained hash of one 16-token
 * block, and the prefix-cache lookup of a 1,024-token prompt whose 64 blocks are all cached.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class BlockPoolBenchmark {

    private BlockPool pool;
    private final List<KvBlock> scratch = new ArrayList<>();
    private KvCacheManager kv;
    private int[] prompt;

    @Setup(Level.Trial)
    public void setUp() {
        pool = new BlockPool(4096);
        // Half the pool in use, so allocation works on a realistic free list.
        pool.allocate(2048, new ArrayList<>());

        kv = new KvCacheManager(new BlockPool(4096), 16, true);
        SplittableRandom r = new SplittableRandom(7);
        prompt = new int[1025];
        for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(151_552);
        BlockTable t = new BlockTable();
        kv.allocateSlots(t, 0, prompt.length, List.of());
        kv.commit(t, prompt, prompt.length);
    }

    @Benchmark
    public int allocateAndFree() {
        scratch.clear();
        pool.allocate(1, scratch);
        KvBlock b = scratch.get(0);
        pool.free(b);
        return b.id;
    }

    @Benchmark
    public long hashOneBlock() {
        return BlockHash.of(BlockHash.ROOT, prompt, 0, 16);
    }

    /** Hashes the prompt's 64 full blocks (chained) and finds each in the cache. */
    @Benchmark
    public int prefixLookup1024Tokens() {
        return kv.findCachedPrefix(new BlockTable(), prompt, prompt.length).size();
    }
}
