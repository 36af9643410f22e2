package org.autoglm.node.plugins;

import java.util.Map;

/**
 * A plugin's options from {@code --plugin-option NAME.KEY=VALUE} (and shorthands such as
 * {@code --audit-log FILE}).
 */
public record PluginConfig(String plugin, Map<String, String> options) {

    public PluginConfig {
        options = Map.copyOf(options);
    }

    public String get(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    public String require(String key) {
        String v = options.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("Plugin '" + plugin + "' needs the option " + key
                    + " (--plugin-option " + plugin + "." + key + "=...)");
        }
        return v;
    }
}
