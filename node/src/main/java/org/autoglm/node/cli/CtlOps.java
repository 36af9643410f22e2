package org.autoglm.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * The op subcommands of {@code ctl}: each builds a command body (target, args, a fresh nonce, an expiry), signs it and
 * posts it; with {@code --wait} it follows the acks like {@code ctl commands ID}.
 */
final class CtlOps {

    private CtlOps() {}

    /** Exactly one of --group (repeatable), --node (repeatable), --all. */
    static final class Target {
        @Option(names = "--group", paramLabel = "GROUP", description = "Nodes of this group (repeatable).")
        List<String> groups = new ArrayList<>();

        @Option(names = "--node", paramLabel = "NAME", description = "This node, by name or id (repeatable).")
        List<String> nodes = new ArrayList<>();

        @Option(names = "--all", description = "Every node.")
        boolean all;
    }

    /** What every op takes besides its own arguments. */
    abstract static class Op implements Callable<Integer> {
        @ParentCommand CtlCommand ctl;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Target target;

        @Option(names = "--expires-in", defaultValue = "300", paramLabel = "SECONDS",
                description = "The command expires after this long; a node away longer never runs it (default: ${DEFAULT-VALUE}).")
        long expiresIn;

        @Option(names = "--rolling", description = "Apply node by node, each after the previous one is ready again.")
        boolean rolling;

        @Option(names = "--wait", description = "Follow the acks until every node has settled.")
        boolean await;

        abstract String op();

        /** Fills the op's arguments. */
        void args(ObjectNode args) {}

        @Override
        public Integer call() throws Exception {
            ObjectNode body = CtlCommand.JSON.createObjectNode();
            ObjectNode args = CtlCommand.JSON.createObjectNode();
            args(args);
            if (rolling) {
                body.put("op", "rolling");
                ObjectNode inner = body.putObject("args");
                inner.put("op", op());
                inner.set("args", args);
            } else {
                body.put("op", op());
                body.set("args", args);
            }
            ObjectNode t = body.putObject("target");
            if (target.all) {
                t.put("all", true);
            } else if (!target.groups.isEmpty()) {
                target.groups.forEach(t.putArray("groups")::add);
            } else {
                target.nodes.forEach(t.putArray("nodes")::add);
            }
            body.put("nonce", UUID.randomUUID().toString());
            body.put("expires_at", Instant.now().getEpochSecond() + expiresIn);
            JsonNode posted = ctl.postCommand(body);
            if (!await) {
                CtlCommand.print(posted);
                return 0;
            }
            return ctl.follow(posted.get("id").asText(), Duration.ofSeconds(expiresIn));
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true, description = "Finish running work, take no new work.")
    static final class Drain extends Op {
        String op() { return "drain"; }
    }

    @Command(name = "undrain", mixinStandardHelpOptions = true, description = "Take work again.")
    static final class Undrain extends Op {
        String op() { return "undrain"; }
    }

    /** Filters shared by cancel and reprioritize. */
    abstract static class Filtered extends Op {
        @Option(names = "--user", paramLabel = "SUBJECT", description = "Requests of this user (token subject).")
        String user;

        @Option(names = "--model", paramLabel = "NAME", description = "Requests for this model.")
        String model;

        @Option(names = "--id", paramLabel = "ID", description = "This request id (repeatable).")
        List<String> ids = new ArrayList<>();

        @Override
        void args(ObjectNode args) {
            if (user != null) args.put("user", user);
            if (model != null) args.put("model", model);
            if (!ids.isEmpty()) ids.forEach(args.putArray("ids")::add);
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel matching requests cluster-wide.")
    static final class Cancel extends Filtered {
        @Option(names = "--priority", paramLabel = "N", description = "Requests of this priority.")
        Integer priority;

        String op() { return "cancel"; }

        @Override
        void args(ObjectNode args) {
            super.args(args);
            if (priority != null) args.put("priority", priority);
        }
    }

    @Command(name = "reprioritize", mixinStandardHelpOptions = true, description = "Give queued matching requests a new priority.")
    static final class Reprioritize extends Filtered {
        @Option(names = "--priority", required = true, paramLabel = "N", description = "The new priority.")
        int priority;

        String op() { return "reprioritize"; }

        @Override
        void args(ObjectNode args) {
            super.args(args);
            args.put("priority", priority);
        }
    }

    @Command(name = "set-log-level", mixinStandardHelpOptions = true, description = "Change a logger's level live.")
    static final class SetLogLevel extends Op {
        @Option(names = "--level", required = true, description = "trace, debug, info, warn, error or off.")
        String level;

        @Option(names = "--logger", paramLabel = "NAME", description = "Logger name prefix, e.g. org.autoglm (default: all).")
        String logger;

        String op() { return "set-log-level"; }

        @Override
        void args(ObjectNode args) {
            args.put("level", level);
            if (logger != null) args.put("logger", logger);
        }
    }

    @Command(name = "reload-config", mixinStandardHelpOptions = true,
            description = "Apply engine limits, scheduling policy and rate limits live.")
    static final class ReloadConfig extends Op {
        @Option(names = "--max-num-seqs", paramLabel = "N") Integer maxNumSeqs;
        @Option(names = "--max-num-batched-tokens", paramLabel = "N") Integer maxNumBatchedTokens;
        @Option(names = "--max-waiting", paramLabel = "N") Integer maxWaiting;
        @Option(names = "--scheduling-policy", paramLabel = "NAME", description = "fcfs, priority, sjf or mlfq.") String policy;
        @Option(names = "--rate-limit-requests", paramLabel = "N", description = "Requests per user per minute, cluster-wide; 0: none.") Long rateLimitRequests;
        @Option(names = "--rate-limit-tokens", paramLabel = "N", description = "Tokens per user per minute, cluster-wide; 0: none.") Long rateLimitTokens;

        String op() { return "reload-config"; }

        @Override
        void args(ObjectNode args) {
            if (maxNumSeqs != null) args.put("max_num_seqs", maxNumSeqs);
            if (maxNumBatchedTokens != null) args.put("max_num_batched_tokens", maxNumBatchedTokens);
            if (maxWaiting != null) args.put("max_waiting", maxWaiting);
            if (policy != null) args.put("scheduling_policy", policy);
            if (rateLimitRequests != null) args.put("rate_limit_requests", rateLimitRequests);
            if (rateLimitTokens != null) args.put("rate_limit_tokens", rateLimitTokens);
        }
    }

    @Command(name = "load-model", mixinStandardHelpOptions = true,
            description = "Load a checkpoint directory and switch serving to it after a drain (rolled back on failure).")
    static final class LoadModel extends Op {
        @Option(names = "--model-dir", required = true, paramLabel = "DIR", description = "Checkpoint directory on the nodes.")
        String modelDir;

        String op() { return "load-model"; }

        @Override
        void args(ObjectNode args) {
            args.put("model_dir", modelDir);
        }
    }

    @Command(name = "restart-engine", mixinStandardHelpOptions = true, description = "Drain, rebuild and restart the engine.")
    static final class RestartEngine extends Op {
        String op() { return "restart-engine"; }
    }

    @Command(name = "diagnostics", mixinStandardHelpOptions = true, description = "Thread dump and engine figures of each node.")
    static final class Diagnostics extends Op {
        String op() { return "diagnostics"; }
    }
}
