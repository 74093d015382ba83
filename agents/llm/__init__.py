"""The model runtime: the OpenAI-compatible client (retries, budgets, record/replay), its
configuration and failure kinds, and the local vLLM engine (install, launch, cores, supervision)."""
