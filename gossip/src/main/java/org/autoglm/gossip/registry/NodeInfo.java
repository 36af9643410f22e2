package org.autoglm.gossip.registry;

import java.io.Serializable;
import java.util.List;
import java.util.UUID;

/**
 * What a node is: fixed for its lifetime, published with every heartbeat. A plain class rather than a record
 * because Ignite's binary marshaller cannot write records.
 */
public final class NodeInfo implements Serializable {

    private static final long serialVersionUID = 1L;

    private final UUID nodeId;
    private final String name;
    private final String model;
    private final String modelHash;
    private final List<String> tags;
    private final String backend;
    private final String device;
    private final int maxBatch;
    private final int contextLength;
    private final String endpoint;
    private final List<String> groups;

    /**
     * @param nodeId        the grid node id
     * @param name          {@code --node-name}
     * @param model         served model name
     * @param modelHash     hash of the model's config, so that nodes serving "the same" name can be told apart
     * @param tags          capability tags from {@code --tags}
     * @param backend       {@code cuda} or {@code djl}
     * @param device        {@code CPU} or the GPU's name and memory
     * @param maxBatch      most sequences per engine step
     * @param contextLength the model's context length in tokens
     * @param endpoint      the node's HTTP base URL
     */
    public NodeInfo(UUID nodeId, String name, String model, String modelHash, List<String> tags, String backend,
                    String device, int maxBatch, int contextLength, String endpoint) {
        this(nodeId, name, model, modelHash, tags, backend, device, maxBatch, contextLength, endpoint, List.of());
    }

    /** @param groups control groups from {@code --groups}: operators scoped to a group act on its nodes only */
    public NodeInfo(UUID nodeId, String name, String model, String modelHash, List<String> tags, String backend,
                    String device, int maxBatch, int contextLength, String endpoint, List<String> groups) {
        this.groups = groups == null ? List.of() : List.copyOf(groups);
        this.nodeId = nodeId;
        this.name = name;
        this.model = model;
        this.modelHash = modelHash;
        this.tags = tags == null ? List.of() : List.copyOf(tags);
        this.backend = backend;
        this.device = device;
        this.maxBatch = maxBatch;
        this.contextLength = contextLength;
        this.endpoint = endpoint;
    }

    public UUID nodeId() { return nodeId; }
    public String name() { return name; }
    public String model() { return model; }
    public String modelHash() { return modelHash; }
    public List<String> tags() { return tags; }
    public String backend() { return backend; }
    public String device() { return device; }
    public int maxBatch() { return maxBatch; }
    public int contextLength() { return contextLength; }
    public String endpoint() { return endpoint; }
    /** Control groups ({@code --groups}); tags stay for placement. */
    public List<String> groups() { return groups == null ? List.of() : groups; }

    /** A copy that names the grid node id (known only once the grid is up). */
    public NodeInfo withNodeId(UUID id) {
        return new NodeInfo(id, name, model, modelHash, tags, backend, device, maxBatch, contextLength, endpoint,
                groups);
    }

    /** {@link #withNodeId(UUID)}, and the grid node's name where this info has none ({@code --node-name} not given). */
    public NodeInfo withNodeId(UUID id, String gridName) {
        return new NodeInfo(id, name != null ? name : gridName, model, modelHash, tags, backend, device, maxBatch,
                contextLength, endpoint, groups);
    }

    @Override
    public String toString() {
        return name + "(" + nodeId + ", " + model + ", tags=" + tags + ")";
    }
}
