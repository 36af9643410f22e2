package org.autoglm.node.plugins;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * A request as plugins see it before scheduling. {@code inputs} are its texts in order (message contents,
 * or the prompt strings of a completion); a plugin may replace them, e.g. to mask words. Token-id prompts
 * have no text and reach plugins as an empty list.
 */
public final class PluginRequest {

    private final String id;
    private final String subject;
    private final Set<String> roles;
    private final String route;
    private final String model;
    private final boolean stream;
    private final Instant receivedAt;
    private List<String> inputs;

    public PluginRequest(String id, String subject, Set<String> roles, String route, String model, boolean stream,
            Instant receivedAt, List<String> inputs) {
        this.id = id;
        this.subject = subject;
        this.roles = Set.copyOf(roles);
        this.route = route;
        this.model = model;
        this.stream = stream;
        this.receivedAt = receivedAt;
        this.inputs = List.copyOf(inputs);
    }

    public String id() {
        return id;
    }

    public String subject() {
        return subject;
    }

    public Set<String> roles() {
        return roles;
    }

    public String route() {
        return route;
    }

    public String model() {
        return model;
    }

    public boolean stream() {
        return stream;
    }

    public Instant receivedAt() {
        return receivedAt;
    }

    public List<String> inputs() {
        return inputs;
    }

    /** Replaces the texts; the list must have the same length. */
    public void replaceInputs(List<String> replaced) {
        if (replaced.size() != inputs.size()) {
            throw new IllegalArgumentException("replaceInputs: expected " + inputs.size() + " texts, got " + replaced.size());
        }
        this.inputs = List.copyOf(replaced);
    }
}
