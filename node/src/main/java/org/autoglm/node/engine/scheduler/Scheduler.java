package org.autoglm.node.engine.scheduler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.autoglm.node.engine.kv.BlockTable;
import org.autoglm.node.engine.kv.KvBlock;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.policy.SchedulingPolicy;

/**
 * Decides, once per engine step, how many tokens of which sequences to compute (vLLM v1's scheduler).
 *
 * <p>One rule covers everything: a sequence has {@code numComputed} of {@code numTokens} tokens in the KV
 * cache, and a step computes some of the rest within a token budget ({@code maxNumBatchedTokens}) and a
 * sequence budget ({@code maxNumSeqs}). Running sequences are served first, in policy order: a decoding
 * one needs one token, one in a chunked prefill needs the rest of its prompt. Waiting sequences are then
 * admitted in policy order, starting after their longest cached prefix, with as much of the prompt as the
 * budget allows (chunked prefill). When a running sequence cannot get a block, the running sequence that
 * comes last in policy order is preempted: its blocks are freed and it waits to recompute, usually fast
 * because its full blocks stay in the prefix cache.
 *
 * <p>Classes come before the policy: interactive sequences are served and admitted before batch-class ones, so
 * batch lines are the first preempted. And work that arrives does not wait behind a full running set: when
 * {@code maxNumSeqs} sequences run, the best waiting sequence preempts the last running one if it is interactive and
 * that one a batch line, or, within a class, if its {@code priority} is higher (a lower number).
 *
 * <p>Not thread-safe: owned by the engine loop.
 */
public final class Scheduler {

    /** Sampled id for a chunk that produced no token (a chunked prefill short of the prompt's end). */
    public static final int NO_TOKEN = -1;
    /** Sampled id for a chunk whose forward or sampling failed: nothing it computed is trusted. */
    public static final int FAILED = -2;
    /** The id a pending token has until its step's result arrives (the backend's {@code PREVIOUS_SAMPLE}). */
    public static final int PENDING_TOKEN = org.autoglm.models.backend.SequenceChunk.PREVIOUS_SAMPLE;

    private static final int[] NO_BLOCKS = new int[0];
    private static final long[] NO_IDS = new long[0];

    private int maxNumSeqs;
    private int maxNumBatchedTokens;
    /** Most batch-line tokens in one step; {@code Integer.MAX_VALUE} for no limit of their own. */
    private int maxBatchLineTokens = Integer.MAX_VALUE;
    /** No batch-line step until then ({@link System#nanoTime}), or until an interactive sequence is admitted. */
    private long batchHoldUntil;
    private boolean batchHeld;
    private final KvCacheManager kv;
    private SchedulingPolicy policy;
    private Comparator<Sequence> order;
    private PriorityQueue<Sequence> waiting;
    /** Kept in policy order: admitted sequences are inserted in place, and it is re-sorted when ranks change. */
    private final ArrayList<Sequence> running = new ArrayList<>();
    /** Running sequences whose rank changed in the last update (mlfq: dropped a level); moved before the next plan. */
    private final ArrayList<Sequence> rankChanged = new ArrayList<>();
    /** The waiting sequence that displaced a running one this step: admitted before anything else. */
    private Sequence promoted;
    private long[] finishedSincePlan = new long[16];
    private int numFinishedSincePlan;

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, SchedulingPolicy policy) {
        if (maxNumSeqs < 1) throw new IllegalArgumentException("max-num-seqs must be >= 1, got " + maxNumSeqs);
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("max-num-batched-tokens must be >= 1, got " + maxNumBatchedTokens);
        }
        this.maxNumSeqs = maxNumSeqs;
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.kv = kv;
        this.policy = policy;
        this.order = classesFirst(policy.order());
        this.waiting = new PriorityQueue<>(order);
    }

    /**
     * New budgets and policy between steps ({@code reload-config}): waiting sequences are re-queued and running ones
     * re-sorted in the new policy's order.
     */
    public void reconfigure(int maxNumSeqs, int maxNumBatchedTokens, SchedulingPolicy policy) {
        if (maxNumSeqs < 1) throw new IllegalArgumentException("max-num-seqs must be >= 1, got " + maxNumSeqs);
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("max-num-batched-tokens must be >= 1, got " + maxNumBatchedTokens);
        }
        this.maxNumSeqs = maxNumSeqs;
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.policy = policy;
        this.order = classesFirst(policy.order()); // a reload keeps interactive before batch
        PriorityQueue<Sequence> requeued = new PriorityQueue<>(order);
        requeued.addAll(waiting);
        this.waiting = requeued;
        running.sort(order);
        rankChanged.clear();
    }

    /**
     * Computes at most {@code tokens} tokens of batch lines per step (0: no limit but the step's). The running lines
     * beyond it keep their KV cache and wait a step: on a CPU a step's time grows with its tokens, and an interactive
     * request that arrives waits for the step in progress. Lines that end make room for the next ones in order.
     */
    public void limitBatchLineTokens(int tokens) {
        if (tokens < 0) throw new IllegalArgumentException("batch-line-tokens-per-step must be >= 0, got " + tokens);
        this.maxBatchLineTokens = tokens == 0 ? Integer.MAX_VALUE : tokens;
    }

    /**
     * Starts no step with batch lines until {@code untilNanos}, or until an interactive sequence is admitted: one is
     * on its way (assigned to this node, its claim committing), and on a CPU a batch step begun meanwhile is what it
     * would wait for. The lines keep their KV cache.
     */
    public void holdBatchLines(long untilNanos) {
        batchHeld = true;
        batchHoldUntil = untilNanos;
    }

    /** Nanoseconds the batch lines are still held for, 0 when they are not. */
    public long batchLinesHeldNanos(long nowNanos) {
        if (batchHeld && nowNanos - batchHoldUntil >= 0) batchHeld = false;
        return batchHeld ? batchHoldUntil - nowNanos : 0;
    }

    /** An interactive sequence runs or waits (both lists keep interactive sequences first). */
    public boolean hasInteractiveWork() {
        return (!running.isEmpty() && !running.get(0).batch()) || (!waiting.isEmpty() && !waiting.peek().batch());
    }

    /** Gives waiting sequences whose request id {@code matches} a new priority; returns their request ids. */
    public List<String> reprioritize(java.util.function.Predicate<String> matches, int priority) {
        List<Sequence> moved = new ArrayList<>();
        waiting.removeIf(s -> matches.test(s.requestId()) && moved.add(s));
        List<String> ids = new ArrayList<>();
        for (Sequence s : moved) {
            s.priority(priority);
            waiting.add(s);
            ids.add(s.requestId());
        }
        return ids;
    }

    /** Interactive sequences before batch lines, then the policy's order. */
    private static Comparator<Sequence> classesFirst(Comparator<Sequence> within) {
        return (a, b) -> a.batch() != b.batch() ? (a.batch() ? 1 : -1) : within.compare(a, b);
    }

    public KvCacheManager kvCache() {
        return kv;
    }

    public SchedulingPolicy policy() {
        return policy;
    }

    public int numRunning() {
        return running.size();
    }

    public int numWaiting() {
        return waiting.size();
    }

    public boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    /** Queues a new sequence; it is admitted by a later {@link #schedule()}. */
    public void add(Sequence s) {
        if (s.status() != Sequence.Status.WAITING || s.started()) throw new IllegalArgumentException("not new: " + s);
        waiting.add(s);
    }

    /** Plans the next step. Never blocks; an empty plan means there is nothing to compute. */
    public SchedulerOutput schedule() {
        int budget = maxNumBatchedTokens;
        SchedulerOutput plan = new SchedulerOutput(Math.min(running.size() + waiting.size(), maxNumSeqs));
        long[] preempted = NO_IDS;
        List<Sequence> outOfMemory = List.of();

        if (policy.beforeStep(running, waiting)) {
            List<Sequence> requeue = new ArrayList<>(waiting); // their ranks changed: rebuild the heap
            waiting.clear();
            waiting.addAll(requeue);
            running.sort(order);
            rankChanged.clear();
        }
        if (!rankChanged.isEmpty()) moveChangedRanks();
        promoted = null;
        long[] displaced = makeRoomForArrival();
        boolean pauseBatch = interactiveStarting() || batchLinesHeldNanos(System.nanoTime()) > 0;
        int batchBudget = maxBatchLineTokens;
        int i = 0;
        while (i < running.size() && budget > 0) {
            Sequence s = running.get(i);
            // The rest are batch lines too: they keep their KV and wait a step.
            if (s.batch() && (pauseBatch || batchBudget <= 0)) break;
            int n = Math.min(s.numTokens() - s.numComputed(), s.batch() ? Math.min(budget, batchBudget) : budget);
            if (n == 0) { // its last token is being drawn, and it ends with that one: nothing to compute
                i++;
                continue;
            }
            int first;
            while ((first = kv.allocateSlots(s.blockTable(), s.numComputed(), n)) < 0) {
                Sequence victim = running.remove(running.size() - 1);
                if (victim == s && i == 0) {
                    // Alone and still short of blocks: the pool cannot hold this sequence any longer.
                    finish(s);
                    outOfMemory = List.of(s);
                    break;
                }
                preempt(victim);
                preempted = append(preempted, victim.id());
                if (victim == s) break;
            }
            if (first < 0) break; // s itself left the running list; everyone before it is scheduled
            addEntry(plan, s, n, first, false);
            budget -= n;
            if (s.batch()) batchBudget -= n;
            i++;
        }

        // Admitting new work right after preempting would only preempt again (vLLM does the same).
        if (preempted.length == 0) {
            while (!waiting.isEmpty() && running.size() < maxNumSeqs && budget > 0) {
                // The sequence that displaced another comes first: under fcfs its victim is older and would win.
                Sequence s = promoted != null && promoted.status() == Sequence.Status.WAITING ? promoted : waiting.peek();
                promoted = null;
                if (s.batch() && (pauseBatch || batchBudget <= 0)) break;
                if (s.numPending() > 0) break; // preempted while a step drew its token: admitted once it is read
                BlockTable table = s.blockTable();
                List<KvBlock> cached = kv.findCachedPrefix(table, s.tokenArray(), s.numTokens());
                int numCached = cached.size() * kv.blockSize();
                int n = Math.min(s.numTokens() - numCached, s.batch() ? Math.min(budget, batchBudget) : budget);
                if (kv.allocateSlots(table, numCached, n, cached) < 0) break; // head of line waits for memory
                kv.recordPrefixLookup(s.numTokens(), numCached);
                if (s == waiting.peek()) waiting.poll(); else waiting.remove(s);
                s.setNumComputed(numCached);
                s.setStatus(Sequence.Status.RUNNING);
                s.markStarted();
                insertRunning(s);
                if (!s.batch()) batchHeld = false; // the request the hold waited for (or one like it) is in
                addEntry(plan, s, n, 0, true);
                budget -= n;
                if (s.batch()) batchBudget -= n;
            }
        }

        long[] finished = numFinishedSincePlan == 0 ? NO_IDS : Arrays.copyOf(finishedSincePlan, numFinishedSincePlan);
        numFinishedSincePlan = 0;
        if (displaced.length > 0) {
            long[] all = Arrays.copyOf(displaced, displaced.length + preempted.length);
            System.arraycopy(preempted, 0, all, displaced.length, preempted.length);
            preempted = all;
        }
        plan.finish(preempted, finished, outOfMemory);
        return plan;
    }

    /**
     * True while an interactive sequence waits to be admitted or is still computing its prompt: such a step computes
     * interactive sequences only, and the batch lines running keep their KV cache and sit it out. Its first token
     * then costs one interactive-sized step, not a step as large as every running batch line makes it, so batch work
     * takes only the capacity that interactive requests leave idle (decode steps still mix both classes).
     */
    private boolean interactiveStarting() {
        Sequence head = promoted != null ? promoted : waiting.peek();
        if (head != null && !head.batch()) return true;
        for (Sequence s : running) {
            if (s.batch()) return false; // sorted: no interactive sequence follows
            if (s.numTokens() - s.numComputed() > 1) return true;
        }
        return false;
    }

    /**
     * With the running set full, the waiting sequence first in line takes the place of the last running one when it
     * outranks it by class or by priority (not by arrival: that would only swap equals). An interactive sequence also
     * displaces a batch line when the free KV blocks cannot hold its prompt, rather than wait for the line to finish.
     * Before anything is planned, so the victim is in no entry of this step; one per step, so a burst displaces one
     * sequence a step.
     */
    private long[] makeRoomForArrival() {
        if (waiting.isEmpty() || running.isEmpty()) return NO_IDS;
        Sequence head = waiting.peek();
        Sequence last = running.get(running.size() - 1);
        boolean byClass = !head.batch() && last.batch();
        boolean full = running.size() >= maxNumSeqs;
        boolean byPriority = full && head.batch() == last.batch() && head.priority() < last.priority();
        boolean noMemory = kv.pool().numFreeBlocks() < kv.blocksFor(Math.min(head.numTokens(), maxNumBatchedTokens));
        if (!(byClass && (full || noMemory)) && !byPriority) return NO_IDS;
        running.remove(running.size() - 1);
        preempt(last);
        promoted = head;
        return new long[] {last.id()};
    }

    /**
     * Asynchronous scheduling: takes a plan's work as done before its results arrive, so the next plan can be made
     * while the backend computes this one. Every entry's tokens count as computed; an entry that reaches its
     * sequence's end and {@code drawnAhead} accepts appends a pending token (its id still on the device), which
     * the next plan computes. {@link #update} then reads the ids into place.
     */
    public void planAhead(SchedulerOutput plan, java.util.function.Predicate<Sequence> drawnAhead) {
        plan.markPlannedAhead();
        for (int i = 0; i < plan.size(); i++) {
            Sequence s = plan.sequence(i);
            s.advanceComputed(plan.numTokens(i));
            if (plan.wantLogits(i) && drawnAhead.test(s)) s.appendPending(PENDING_TOKEN);
        }
    }

    /**
     * Applies a step's results: the scheduled tokens now have KV (their full blocks join the prefix
     * cache), and each entry that reached its sequence's end appends its sampled token (or, for a plan made
     * {@link #planAhead ahead}, writes it over the token left pending).
     *
     * @param sampledIds one per entry of {@code plan}: a token id, {@link #NO_TOKEN} or {@link #FAILED}
     */
    public void update(SchedulerOutput plan, int[] sampledIds) {
        boolean ahead = plan.plannedAhead();
        for (int i = 0; i < plan.size(); i++) {
            Sequence s = plan.sequence(i);
            int sampled = sampledIds[i];
            if (s.isFinished() || sampled == FAILED) continue;
            if (!ahead) s.advanceComputed(plan.numTokens(i));
            if (sampled >= 0) {
                if (ahead && s.numPending() > 0) s.resolvePending(sampled); else s.appendToken(sampled);
                if (policy.onTokenGenerated(s)) rankChanged.add(s);
            }
            // Full blocks join the prefix cache once their ids are known (a later step may still be writing their
            // KV: it runs before any step that could reuse them).
            kv.commit(s.blockTable(), s.tokenArray(), Math.min(s.numComputed(), s.numKnownTokens()));
        }
    }

    /**
     * Appends tokens the output grammar forced after a step's sampled one (jump-forward): they join the output
     * without a forward step each, and the next step computes their KV together.
     */
    public void appendForced(Sequence s, int[] tokens) {
        if (s.isFinished()) return;
        for (int t : tokens) {
            s.appendToken(t);
            if (policy.onTokenGenerated(s)) rankChanged.add(s);
        }
    }

    /** Removes a sequence (done, cancelled, failed) and frees its blocks at once. False if already finished. */
    public boolean finish(Sequence s) {
        switch (s.status()) {
            case FINISHED:
                return false;
            case RUNNING:
                running.remove(s);
                break;
            case WAITING:
                if (s == waiting.peek()) waiting.poll(); else waiting.remove(s);
                break;
        }
        kv.free(s.blockTable());
        s.setStatus(Sequence.Status.FINISHED);
        if (numFinishedSincePlan == finishedSincePlan.length) {
            finishedSincePlan = Arrays.copyOf(finishedSincePlan, finishedSincePlan.length * 2);
        }
        finishedSincePlan[numFinishedSincePlan++] = s.id();
        return true;
    }

    /**
     * Puts the sequences whose rank changed back in order: a few are taken out and inserted in place (a binary
     * search each), which costs far less than sorting the whole running list; many at once (a burst admitted
     * together drops a level together) are cheaper to sort.
     */
    private void moveChangedRanks() {
        if (rankChanged.size() > 16) {
            running.sort(order);
        } else {
            running.removeIf(this::rankChanged);
            for (Sequence s : rankChanged) if (s.status() == Sequence.Status.RUNNING) insertRunning(s);
        }
        rankChanged.clear();
    }

    /** By identity, so that the scan over the running list does not load every sequence (as equals() would). */
    private boolean rankChanged(Sequence s) {
        for (int i = 0; i < rankChanged.size(); i++) if (rankChanged.get(i) == s) return true;
        return false;
    }

    private void insertRunning(Sequence s) {
        int at = Collections.binarySearch(running, s, order); // ties are broken by id: only s itself compares equal
        if (at < 0) running.add(-at - 1, s);
    }

    private void preempt(Sequence victim) {
        kv.free(victim.blockTable());
        victim.markPreempted();
        waiting.add(victim);
    }

    private void addEntry(SchedulerOutput plan, Sequence s, int n, int firstNewBlock, boolean reset) {
        int start = s.numComputed();
        BlockTable table = s.blockTable();
        int[] blocks = reset ? table.ids(0) : firstNewBlock == table.size() ? NO_BLOCKS : table.ids(firstNewBlock);
        plan.add(s, start, n, blocks, reset, start + n == s.numTokens());
    }

    private static long[] append(long[] ids, long id) {
        long[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = id;
        return out;
    }
}
