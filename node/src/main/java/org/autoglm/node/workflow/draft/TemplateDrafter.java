package org.autoglm.node.workflow.draft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.session.Message;

/**
 * Asks the served model for a template: one chat request through the node's inference service (on a cluster, the
 * shared queue), its decoding constrained by the draft schema, the answer collected and parsed.
 */
final class TemplateDrafter {

    /** How long a draft may take before it is given up (the model writes at most {@link DraftPrompt#MAX_TOKENS}). */
    static final Duration TIMEOUT = Duration.ofMinutes(5);

    /** The model's answer as JSON, and what it cost. */
    record Answer(ObjectNode json, int promptTokens, int completionTokens) {}

    private static final OutputConstraint CONSTRAINT = OutputConstraint.of(OutputConstraint.Kind.JSON_SCHEMA,
            DraftPrompt.schema());

    private TemplateDrafter() {}

    static Answer draft(ServingState.Loaded loaded, String description, JsonNode examples, double temperature,
            Long seed, String user) throws InterruptedException {
        var model = loaded.model();
        int room = model.contextLength() - 1;
        List<Message> messages = DraftPrompt.messages(description, examples);
        int[] prompt = model.encodeChatAtMost(messages, room - 256);
        if (prompt == null) { // a small context: the schema's text in the prompt is a help, the grammar is the rule
            prompt = model.encodeChatAtMost(List.of(new Message("system", "Answer with a workflow template as JSON."),
                    messages.get(1)), room - 256);
        }
        if (prompt == null) {
            throw ApiError.invalid("description", "The description is too long for the model's context ("
                    + model.contextLength() + " tokens, with room left for the draft); shorten it.");
        }
        int maxTokens = Math.min(DraftPrompt.MAX_TOKENS, model.contextLength() - prompt.length);
        SamplingParams params = new SamplingParams(temperature, 1, 0, 0, 1, 0, 0, seed, maxTokens, List.of(), false, -1);
        String id = "wfdraft-" + UUID.randomUUID().toString().replace("-", "");
        GenerationRequest request = new GenerationRequest(id, prompt, params, 0, null, null, List.of(), model.name(),
                null).withConstraint(CONSTRAINT).withUser(user);
        StringBuilder text = new StringBuilder();
        CompletableFuture<Completion> done = new CompletableFuture<>();
        try {
            loaded.engine().submit(request, new GenerationListener() {
                @Override
                public void onDelta(TokenDelta delta) {
                    synchronized (text) {
                        text.append(delta.text());
                    }
                }

                @Override
                public void onFinish(Completion completion) {
                    done.complete(completion);
                }
            });
        } catch (RequestRejectedException e) {
            throw switch (e.kind()) {
                case OVERLOADED -> ApiError.overloaded("The model is busy; retry the draft shortly.", 1);
                case UNAVAILABLE -> ApiError.unavailable("The model cannot take the draft now: " + e.getMessage());
                default -> ApiError.invalid("description", "The draft request was refused: " + e.getMessage());
            };
        }
        Completion end;
        try {
            end = done.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            loaded.engine().cancel(id);
            throw ApiError.timeout("The model did not finish the draft within " + TIMEOUT.toMinutes() + " minutes.");
        } catch (InterruptedException e) {
            loaded.engine().cancel(id);
            throw e;
        } catch (ExecutionException e) {
            throw ApiError.server("The draft failed: " + e.getCause());
        }
        if (end.reason() != FinishReason.STOP) {
            throw ApiError.server("The model stopped the draft early (" + end.reason().wire()
                    + (end.error() == null ? "" : ": " + end.error()) + "); "
                    + (end.reason() == FinishReason.LENGTH ? "its context is too small for a draft." : "retry it."));
        }
        String json;
        synchronized (text) {
            json = text.toString();
        }
        try {
            JsonNode parsed = JsonBody.MAPPER.readTree(json);
            if (!(parsed instanceof ObjectNode object)) {
                throw new IllegalStateException("not an object");
            }
            return new Answer(object, prompt.length, end.completionTokens());
        } catch (Exception e) {
            // the grammar makes this impossible; if it happens, say so rather than pass on a broken template
            throw ApiError.server("The model's draft is not a JSON object, which the grammar should have"
                    + " prevented: " + e.getMessage());
        }
    }
}
