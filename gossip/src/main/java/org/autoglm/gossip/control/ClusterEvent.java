package org.autoglm.gossip.control;

import java.io.Serializable;

/** One event of the cluster's event stream: numbered cluster-wide, with a type and its data as JSON text. */
public final class ClusterEvent implements Serializable {

    private static final long serialVersionUID = 1L;

    private final long id;
    private final long timeMillis;
    private final String type;
    private final String node;
    private final String data;

    /**
     * @param type e.g. {@code node_joined}, {@code leader_elected}, {@code command_acked}
     * @param node the node that saw or caused it
     * @param data JSON object text
     */
    public ClusterEvent(long id, long timeMillis, String type, String node, String data) {
        this.id = id;
        this.timeMillis = timeMillis;
        this.type = type;
        this.node = node;
        this.data = data;
    }

    public long id() { return id; }
    public long timeMillis() { return timeMillis; }
    public String type() { return type; }
    public String node() { return node; }
    public String data() { return data; }
}
