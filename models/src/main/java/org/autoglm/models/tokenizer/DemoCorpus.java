package org.autoglm.models.tokenizer;

/** The text the demo tokenizer's merges are learned from: English, Chinese and code, as GLM users write. */
final class DemoCorpus {

    private DemoCorpus() {}

    static final String TEXT = """
            The quick brown fox jumps over the lazy dog. The cluster control center schedules every request.
            Open-AutoGLM serves GLM models from a fleet of identical nodes. Each node runs the same jar, and a
            client may send a request to any node; the grid decides where it runs. When a node fails, its
            requests are queued again and run elsewhere, so nothing that was accepted is lost.
            You are a helpful assistant. Hello, who are you? I am an assistant trained to answer questions.
            Please explain how the scheduler works. The scheduler builds a batch within a token budget: running
            sequences decode one token, waiting ones are admitted with chunked prefill, and memory is handed out
            in blocks of sixteen tokens. What is the weather like today? It is sunny and warm, about 21 degrees.
            Thanks! You're welcome. Let's write some code together; it'll be fun, and we've got time.
            你好，请介绍一下集群控制中心。集群控制中心负责调度请求，节点之间通过网格通信。
            我是人工智能助手，很高兴为你服务。请问有什么可以帮你的吗？今天天气很好，我们一起去公园散步吧。
            模型在每个节点上运行，所有节点都是相同的。如果一个节点出现故障，它的请求会被重新排队并在别处运行。
            中文和英文混合的文本也很常见，例如：GLM 模型支持中文与 English 的对话。谢谢！不客气。
            def add(a, b):
                return a + b

            def fibonacci(n):
                if n < 2:
                    return n
                return fibonacci(n - 1) + fibonacci(n - 2)

            for i in range(10):
                print(i, fibonacci(i))

            public final class Sampler {
                private final SamplingParams params;

                public int sample(float[] logits) {
                    return argmax(logits);
                }
            }
            {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there!"}
            import json, os, sys
            x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
            """;
}
