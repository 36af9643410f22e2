package org.autoglm.node.plugins;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** The enabled plugins, in the order they were named; requests pass through them in that order. */
public final class Plugins implements AutoCloseable {

    private final List<NodePlugin> enabled;

    private Plugins(List<NodePlugin> enabled) {
        this.enabled = List.copyOf(enabled);
    }

    public static Plugins none() {
        return new Plugins(List.of());
    }

    /**
     * Finds each named plugin with {@link ServiceLoader} and configures it.
     *
     * @param options per plugin name, its options
     * @throws IllegalArgumentException naming an unknown plugin and the available ones, or a bad option
     */
    public static Plugins load(List<String> names, Map<String, Map<String, String>> options) throws Exception {
        Map<String, NodePlugin> available = new LinkedHashMap<>();
        for (NodePlugin p : ServiceLoader.load(NodePlugin.class)) {
            available.putIfAbsent(p.name(), p);
        }
        for (String name : options.keySet()) {
            if (!names.contains(name)) {
                throw new IllegalArgumentException("Options given for plugin '" + name + "', which is not enabled "
                        + "(enable it with --plugins " + name + ")");
            }
        }
        List<NodePlugin> chosen = new ArrayList<>();
        for (String name : new java.util.LinkedHashSet<>(names)) {
            NodePlugin p = available.get(name);
            if (p == null) {
                throw new IllegalArgumentException("Unknown plugin '" + name + "'; available: "
                        + new TreeSet<>(available.keySet()));
            }
            p.configure(new PluginConfig(name, options.getOrDefault(name, Map.of())));
            chosen.add(p);
        }
        return new Plugins(chosen);
    }

    /** Test and embedding entry: already configured plugins. */
    public static Plugins of(List<NodePlugin> plugins) {
        return new Plugins(plugins);
    }

    public boolean isEmpty() {
        return enabled.isEmpty();
    }

    public <T extends NodePlugin> Optional<T> find(Class<T> type) {
        return enabled.stream().filter(type::isInstance).map(type::cast).findFirst();
    }

    /**
     * Lets every plugin see the request (and possibly rewrite or reject it); the returned hooks chain
     * theirs: a delta passes through the plugins in order, and text one plugin releases at a choice's end
     * still passes through the plugins after it.
     */
    public RequestHooks onRequest(PluginRequest request) throws ContentRejectedException {
        if (enabled.isEmpty()) {
            return RequestHooks.NONE;
        }
        List<RequestHooks> hooks = new ArrayList<>(enabled.size());
        for (NodePlugin p : enabled) {
            hooks.add(p.onRequest(request));
        }
        return new Chain(hooks);
    }

    @Override
    public void close() {
        enabled.forEach(NodePlugin::close);
    }

    private record Chain(List<RequestHooks> hooks) implements RequestHooks {
        @Override
        public String onDelta(int choice, String text) throws ContentRejectedException {
            for (RequestHooks h : hooks) {
                if (text.isEmpty()) {
                    return text;
                }
                text = h.onDelta(choice, text);
            }
            return text;
        }

        @Override
        public String onChoiceEnd(int choice) {
            String text = "";
            for (RequestHooks h : hooks) {
                if (!text.isEmpty()) {
                    try {
                        text = h.onDelta(choice, text);
                    } catch (ContentRejectedException e) {
                        text = "";
                    }
                }
                text += h.onChoiceEnd(choice);
            }
            return text;
        }

        @Override
        public void onCompletion(RequestOutcome outcome) {
            for (RequestHooks h : hooks) {
                h.onCompletion(outcome);
            }
        }
    }
}
