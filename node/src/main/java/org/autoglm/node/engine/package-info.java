/**
 * The node's inference engine: continuous batching over one {@link org.autoglm.models.backend.Backend}.
 *
 * <pre>
 * Engine (InferenceService)     submit / cancel / drain; admission checks; one engine thread
 *   EngineLoop                  step = scheduler.schedule(); runner.execute(plan); scheduler.update(plan, result);
 *                               then each request's tokens, text and finish go to its GenerationListener
 *   scheduler.Scheduler         which sequences compute how many tokens this step (SchedulerOutput), preemption
 *   policy.SchedulingPolicy     fcfs | priority (with aging) | sjf | mlfq: who goes first, who is preempted first
 *   kv.KvCacheManager           per-sequence block tables, prefix cache (chained block hashes)
 *   kv.BlockPool                ref-counted blocks, LRU free list, hash → block map
 *   runner.ModelRunner          plan → SequenceChunks → Backend.forward → per-sequence sampling
 *   EngineStats                 gauges, counters and latency samples for metrics and the cluster heartbeat
 * </pre>
 *
 * Everything below {@code Engine} runs on the engine thread and is not thread-safe by design.
 */
package org.autoglm.node.engine;
