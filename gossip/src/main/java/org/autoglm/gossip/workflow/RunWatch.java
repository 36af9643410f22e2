package org.autoglm.gossip.workflow;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.event.CacheEntryEvent;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.query.ContinuousQueryWithTransformer;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.lang.IgniteClosure;

/**
 * Tells watchers on this node when a run changes, pushed by the grid: from the first watch on this node, one
 * continuous query on the runs cache sends it the id of each run that changes (only the id travels, not the
 * record), and the watchers of that id are called. The query stays open (registering one costs a grid-wide
 * message), so a node that never serves an event stream gets nothing.
 */
final class RunWatch {

    private final IgniteCache<String, WorkflowRun> runs;
    private final Map<String, Set<Runnable>> watchers = new ConcurrentHashMap<>();
    private QueryCursor<?> query;

    RunWatch(IgniteCache<String, WorkflowRun> runs) {
        this.runs = runs;
    }

    /**
     * Calls {@code changed} (on a grid callback thread: it must only signal, never block) each time run {@code id}
     * changes, until the returned handle is closed. Changes made before this call are not reported: read the run
     * after watching it.
     */
    synchronized AutoCloseable watch(String id, Runnable changed) {
        watchers.computeIfAbsent(id, k -> new CopyOnWriteArraySet<>()).add(changed);
        if (query == null) {
            ContinuousQueryWithTransformer<String, WorkflowRun, String> q = new ContinuousQueryWithTransformer<>();
            q.setRemoteTransformerFactory(FactoryBuilder.factoryOf(new KeyOnly()));
            q.setLocalListener(this::told);
            query = runs.query(q);
        }
        return () -> unwatch(id, changed);
    }

    private synchronized void unwatch(String id, Runnable changed) {
        Set<Runnable> set = watchers.get(id);
        if (set != null && set.remove(changed) && set.isEmpty()) {
            watchers.remove(id, set);
        }
    }

    /**
     * What the grid tells. Normally run ids (the remote transformer's output); but when a node leaves, Ignite
     * replays its backup queue to the listener without the transformer, as the raw records: a cast to String there
     * threw on the grid's exchange thread and halted the whole grid node (seen in WorkflowLoad's kill -9 with an
     * event stream open). So each element is read for its id whatever it is, and nothing is let out.
     */
    private void told(Iterable<?> events) {
        for (Object e : events) {
            try {
                String id = e instanceof String s ? s
                        : e instanceof WorkflowRun r ? r.id
                        : e instanceof javax.cache.Cache.Entry<?, ?> entry && entry.getKey() instanceof String k ? k
                        : null;
                if (id != null) {
                    changed(id);
                }
            } catch (RuntimeException ex) {
                org.slf4j.LoggerFactory.getLogger(RunWatch.class).debug("run change not told: {}", ex.toString());
            }
        }
    }

    private void changed(String id) {
        Set<Runnable> set = watchers.get(id);
        if (set != null) {
            set.forEach(Runnable::run);
        }
    }

    /** Remote transformer: the changed run's id only. A class with no captured state for the marshaller. */
    private static final class KeyOnly implements IgniteClosure<CacheEntryEvent<? extends String, ? extends WorkflowRun>, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String apply(CacheEntryEvent<? extends String, ? extends WorkflowRun> e) {
            return e.getKey();
        }
    }
}
