"""Report helper of helpers_app."""


def summarize(values):
    return f"n={len(values)} mean={sum(values) / len(values):.4f}"
